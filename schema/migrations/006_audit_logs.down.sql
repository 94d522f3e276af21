drop table if exists audit_logs;
