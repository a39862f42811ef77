/** `text` as an SQL string literal (DuckDB's and Athena's: a quote doubled). */
export const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;
