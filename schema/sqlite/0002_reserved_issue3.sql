-- Placeholder on the scoring branch (issue 4): migrations must be numbered
-- without gaps and 0002 belongs to issue 3, developed in parallel. The merge
-- replaces this file with issue 3's 0002.
SELECT 1;
