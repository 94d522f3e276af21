drop index if exists research_trees_document_version_key;
alter table research_trees drop column if exists revision, drop column if exists source_snapshot;
