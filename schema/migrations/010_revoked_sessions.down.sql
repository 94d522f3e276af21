drop table if exists revoked_sessions;
