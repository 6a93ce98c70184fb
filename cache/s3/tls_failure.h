// TLS failures of a curl transfer in words a user can act on: which check failed (the CA
// chain, the host name, the CA file, the handshake), for which host, and what to set (ca-file=,
// the endpoint's host name, addressing=). Pure functions; no locking.
#pragma once

#include <string>

namespace s3nbd {

struct TlsFailure {
  int curl_code = 0;         // the transfer's CURLcode
  long verify_result = 0;    // CURLINFO_SSL_VERIFYRESULT (OpenSSL's X509_V_* of the chain check)
  std::string curl_error;    // curl's error text
  std::string host;          // the host name connected to, e.g. "bucket.s3.example.com"
  std::string ca_file;       // ca-file= ("" = the system CA store)
  std::string virtual_base;  // addressing=virtual: the endpoint's host, else ""
  std::string endpoint;      // the configured URL, named after the host ("" = not named)
};

// "TLS certificate verification failed for HOST (ENDPOINT): <curl's text> (<what to do>)", or ""
// when the failure is not a TLS one (the caller then words it as a connection failure).
std::string DescribeTlsFailure(const TlsFailure& f);

// The host of an http(s) URL ("" if it does not parse), for messages.
std::string HostOfUrl(const std::string& url);

}  // namespace s3nbd
