drop table if exists research_trees;
drop table if exists document_versions;
drop table if exists collaborations;
drop table if exists documents;
