-- Receipts of grantees' calls (GET /open/v1/receipts/{log_ref}) find a call by its log record.
CREATE INDEX grant_call_log_ref ON grant_call (log_ref);
