-- JMSD: processed sales joined with processed marketing on the day. Reads the views `sales` and `marketing`.
-- USING puts `date` once, first, then the sales columns, then the marketing columns (Spark and DuckDB alike).
SELECT *
FROM sales
JOIN marketing USING (date)
ORDER BY date
