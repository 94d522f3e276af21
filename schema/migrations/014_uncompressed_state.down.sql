-- States written since stay uncompressed until their next fold.
alter table documents alter column state set storage extended;
