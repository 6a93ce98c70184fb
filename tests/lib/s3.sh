#!/bin/bash
# S3 access with curl's SigV4 signing, for the tests (via common.sh) and scripts/demo.sh.
# Uses S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Functions return non-zero on
# failure; they never exit the caller.
urlencode() { # RFC 3986 as SigV4 wants it: everything but A-Za-z0-9-._~ is %XX
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
s3_curl() { # curl ARGS with SigV4 signing; -f so HTTP errors are non-zero exits
  curl -sS -f -m 60 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
       -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
s3_create_bucket() { s3_curl -o /dev/null -X PUT "$S3_ENDPOINT/$1"; }
keypath() { local k; k=$(urlencode "$1"); printf '%s' "${k//%2F//}"; } # a key as a URL path
put_object() { s3_curl -o /dev/null -X PUT --data-binary "@$3" "$S3_ENDPOINT/$1/$(keypath "$2")"; } # BUCKET KEY FILE
get_object() { s3_curl -o "$3" "$S3_ENDPOINT/$1/$(keypath "$2")"; }                              # BUCKET KEY OUTFILE
delete_object() { s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$1/$(keypath "$2")"; }            # BUCKET KEY
object_exists() { # BUCKET KEY: HEAD answers 200
  local code
  code=$(curl -s -o /dev/null -m 60 -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -I "$S3_ENDPOINT/$1/$(keypath "$2")")
  [ "$code" = 200 ]
}
LIST_MAX_KEYS=${LIST_MAX_KEYS:-1000}
list_keys() { # BUCKET [PREFIX]: every key under PREFIX, one per line (ListObjectsV2, all pages)
  local bucket=$1 prefix=${2:-} token="" q body pages=0
  while :; do
    # query parameters in sorted order, URI-encoded: that is how SigV4 canonicalises them
    q=""
    [ -n "$token" ] && q+="continuation-token=$(urlencode "$token")&"
    q+="list-type=2&max-keys=$LIST_MAX_KEYS&prefix=$(urlencode "$prefix")"
    body=$(s3_curl "$S3_ENDPOINT/$bucket?$q") || { echo "ListObjectsV2 $bucket prefix '$prefix' failed" >&2; return 1; }
    { grep -o '<Key>[^<]*</Key>' <<<"$body" || true; } | sed -e 's/^<Key>//' -e 's/<\/Key>$//' \
      -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&amp;/\&/g'
    grep -q '<IsTruncated>true</IsTruncated>' <<<"$body" || break
    token=$(grep -o '<NextContinuationToken>[^<]*</NextContinuationToken>' <<<"$body" | sed -e 's/<[^>]*>//g')
    [ -n "$token" ] || { echo "ListObjectsV2: truncated listing without a continuation token" >&2; return 1; }
    pages=$((pages + 1)); [ "$pages" -lt 100000 ] || { echo "ListObjectsV2: too many pages" >&2; return 1; }
  done
}
count_keys() { local k; k=$(list_keys "$@") || return 1; if [ -z "$k" ]; then echo 0; else wc -l <<<"$k"; fi; }
