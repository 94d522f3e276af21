-- Cascades to the open-mode documents, their log and versions.
delete from projects where id = '00000000-0000-4000-8000-000000000001';
delete from institutions where id = '00000000-0000-4000-8000-000000000001';
