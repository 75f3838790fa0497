#!/usr/bin/env bash
# Posts each vendor's documented example to a running ledger (started with
# leadledger.example.yaml), then shows the stored log. Loopback only.
#   scripts/demo.sh [base-url]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-http://127.0.0.1:8080}
examples=adapters/vendors/testdata

post() { # name, curl args...
  echo "== $1"; shift
  curl -sS -X POST -H 'Content-Type: application/json' "$@"; echo
}

post "Conversica chat lead (HTTP Basic)" -u conversica:demo-conversica-pass \
  --data-binary @$examples/conversica-lead.json "$base/v1/ingest/conversica"

post "WhatConverts new Chat lead (?token=)" \
  --data-binary @$examples/whatconverts-chat-new.json "$base/v1/ingest/whatconverts?token=demo-whatconverts-token"

post "LeadFloAgent visitor_created (X-Webhook-Secret)" -H 'X-Webhook-Secret: demo-leadflo-secret' \
  --data-binary @$examples/leadflo-visitor-created.json "$base/v1/ingest/leadflo"

post "LeadFloAgent conversation_ended" -H 'X-Webhook-Secret: demo-leadflo-secret' \
  --data-binary @$examples/leadflo-conversation-ended.json "$base/v1/ingest/leadflo"

# Standard Webhooks: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the whsec_ secret's bytes.
key_hex=$(printf '%s' 'ZGVtby1zZW5zZWktc2lnbmluZy1rZXktMzJieXRlcyE=' | base64 -d | od -An -tx1 | tr -d ' \n')
id=msg_demo_$$ ts=$(date +%s)
sig=$( { printf '%s.%s.' "$id" "$ts"; cat $examples/sensei-lead-created.json; } |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
post "Sensei lead.created (Standard Webhooks signature)" \
  -H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig" \
  --data-binary @$examples/sensei-lead-created.json "$base/v1/ingest/sensei"

post "A Conversica lead without email is refused (400)" -u conversica:demo-conversica-pass \
  --data-binary '{"firstName":"John","lastName":"Doe","conversationHistory":"..."}' "$base/v1/ingest/conversica"

echo "== The log (auditor token)"
curl -sS -H 'Authorization: Bearer demo-auditor-token' "$base/v1/events?limit=10" |
  { command -v jq >/dev/null && jq -c '.events[] | {position, type, source, lead_id, raw_sha256}' || cat; }
