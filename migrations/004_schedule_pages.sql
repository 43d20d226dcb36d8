-- A scheduled firing enrolls its leads a page at a time, each page in a transaction of
-- its own, so that a firing over a large lead base is never one long transaction. The
-- firing's row says how far it got; a firing left unfinished (a crash, a timeout) is
-- carried on by the next tick, from there. Firings recorded before this were whole.
ALTER TABLE schedule_firings ADD COLUMN after_lead bigint NOT NULL DEFAULT 0;
ALTER TABLE schedule_firings ADD COLUMN done boolean NOT NULL DEFAULT true;
ALTER TABLE schedule_firings ALTER COLUMN done SET DEFAULT false;
