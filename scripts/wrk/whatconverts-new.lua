-- wrk script: WhatConverts "new" webhooks, each one a NEW lead (its own lead_id and email), for
-- POST /v1/ingest/whatconverts?token=... (put the path and token in wrk's URL). After the run it
-- prints one line the bench scripts parse:
--   wrk-result requests=N non2xx=N socket_errors=N duration_us=N rate=R p50_us=N p99_us=N max_us=N
-- requests counts every answer, non2xx those with a status of 400 or more (the ingest endpoint
-- answers no 1xx/3xx), socket_errors the connect/read/write errors and timeouts, rate the 2xx
-- answers per second. Latencies are microseconds, wrk's --latency histogram.
--   wrk -t2 -c32 -d15s --latency -s scripts/wrk/whatconverts-new.lua \
--     'http://127.0.0.1:18089/v1/ingest/whatconverts?token=bench-wc-token' -- <run tag, digits>
-- The run tag (default: the time in seconds) keeps the lead ids of two runs on one database apart.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local run, seq = nil, 0

function init(args)
  run = args[1] or tostring(os.time())
  if not run:match("^%d+$") then
    error("the run tag must be digits, got " .. run)
  end
end

local template = [[{"trigger":"new","lead_id":"%s","lead_type":"Web Form","lead_status":"Unique",]] ..
  [["last_updated":"2016-02-05T10:00:00Z","date_created":"2016-02-05T10:00:00Z","lead_score":null,]] ..
  [["contact_name":"Bench Lead %s","contact_email_address":"lead-%s@bench.example.org",]] ..
  [["contact_phone_number":"+17045550100","additional_fields":{"full_name":"Bench Lead %s",]] ..
  [["company_name":"Bench Ltd","message":"Call me back","Budget":"5000"},]] ..
  [["field_mappings":{"Company Name":"Bench Ltd"},"lead_source":"facebook","lead_medium":"paid-social",]] ..
  [["lead_campaign":"spring","spam":false}]]

function request()
  seq = seq + 1
  -- run tag, thread (2 digits), then the thread's counter (10 digits): unique in this run.
  local id = string.format("%s%02d%010d", run, tid, seq)
  return wrk.format(nil, nil, nil, string.format(template, id, id, id, id))
end

function done(summary, latency, requests)
  local e = summary.errors
  local ok = summary.requests - e.status
  io.write(string.format(
    "wrk-result requests=%d non2xx=%d socket_errors=%d duration_us=%d rate=%.0f p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    ok / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), latency.max))
end
