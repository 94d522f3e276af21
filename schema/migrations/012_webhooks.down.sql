drop table if exists webhook_documents;
drop table if exists webhook_changes;
drop table if exists webhook_deliveries;
drop table if exists webhooks;
