drop table if exists project_members;
drop table if exists projects;
drop table if exists users;
drop table if exists institutions;
