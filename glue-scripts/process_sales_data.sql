-- PSD: one row per day of the sales pipeline. Reads the view `sales` (typed, snake_case).
-- Written in the SQL that Spark SQL 3.5 and DuckDB run alike; sums are cast because DuckDB sums to HUGEINT.
SELECT
  date,
  CAST(COUNT(*) AS BIGINT) AS opportunities,
  CAST(SUM(forecasted_monthly_revenue) AS BIGINT) AS forecasted_monthly_revenue,
  CAST(SUM(CASE WHEN opportunity_stage = 'Lead' THEN 1 ELSE 0 END) AS BIGINT) AS leads_generated,
  CAST(COALESCE(SUM(CASE WHEN opportunity_stage = 'Lead' THEN forecasted_monthly_revenue END), 0) AS BIGINT) AS forecasted_lead_revenue
FROM sales
GROUP BY date
ORDER BY date
