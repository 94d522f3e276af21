-- Open mode (no AUTH_SECRET): documents created on first use belong to this
-- project. Fixed ids so every instance and every database agree on them
-- (persistence/documents.ts: DEFAULT_PROJECT_ID).
insert into institutions (id, name)
values ('00000000-0000-4000-8000-000000000001', 'Open mode')
on conflict (id) do nothing;

insert into projects (id, institution_id, name, description, visibility)
values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001',
        'Open mode', 'Documents created on first use when authentication is off', 'public')
on conflict (id) do nothing;
