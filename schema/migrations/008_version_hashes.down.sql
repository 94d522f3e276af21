drop index if exists document_versions_document_hash_idx;
alter table document_versions drop column if exists size;
alter table document_versions drop column if exists content_hash;
