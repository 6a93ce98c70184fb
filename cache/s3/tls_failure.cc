// TLS failure messages. Pure functions; no locking.
#include "cache/s3/tls_failure.h"

#include <curl/curl.h>
#include <openssl/x509_vfy.h>

namespace s3nbd {
namespace {

std::string TrustStore(const TlsFailure& f) {
  return f.ca_file.empty() ? "the system CA store" : "ca-file '" + f.ca_file + "'";
}

// Why the chain check failed, as advice; "" when the chain was not what failed. libcurl
// (OpenSSL backend) stores OpenSSL's X509_V_* verdict of the chain; it leaves
// X509_V_OK or its "not checked yet" placeholder (1, X509_V_ERR_UNSPECIFIED) when the chain
// was fine and its own host name check refused the certificate.
std::string ChainAdvice(const TlsFailure& f) {
  switch (f.verify_result) {
    case X509_V_OK:
    case X509_V_ERR_UNSPECIFIED:
      return "";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "the server's certificate is not signed by a CA in " + TrustStore(f) +
             ": set ca-file=PATH to the CA bundle (PEM) that signed it";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the certificate is outside its validity period: check the system clock, or renew "
             "the certificate";
    default:
      return "the certificate chain does not verify against " + TrustStore(f) +
             " (OpenSSL verify error " + std::to_string(f.verify_result) +
             "); ca-file=PATH sets the "
             "CA bundle to trust";
  }
}

std::string HostAdvice(const TlsFailure& f) {
  std::string a = "the certificate does not name the host '" + f.host +
                  "': use an endpoint host name that the certificate lists";
  if (!f.virtual_base.empty()) {
    a += "; with addressing=virtual it must also cover BUCKET." + f.virtual_base + ", such as *." +
         f.virtual_base + ", or use addressing=path";
  }
  return a + "; ca-file= only chooses which CAs are trusted";
}

}  // namespace

std::string DescribeTlsFailure(const TlsFailure& f) {
  std::string host = f.host.empty() ? "the server" : f.host;
  if (!f.endpoint.empty()) host += " (" + f.endpoint + ")";
  switch (f.curl_code) {
    case CURLE_PEER_FAILED_VERIFICATION: {
      std::string advice = ChainAdvice(f);
      if (advice.empty()) advice = HostAdvice(f);
      return "TLS certificate verification failed for " + host + ": " + f.curl_error + " (" +
             advice + ")";
    }
    case CURLE_SSL_CACERT_BADFILE:
      return "TLS to " + host + ": cannot load " + TrustStore(f) + ": " + f.curl_error +
             " (ca-file= must name a readable PEM file of CA certificates)";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS handshake with " + host + " failed: " + f.curl_error +
             " (does the endpoint's port speak https?)";
    default:
      return "";
  }
}

std::string HostOfUrl(const std::string& url) {
  CURLU* u = curl_url();
  if (u == nullptr) return "";
  std::string host;
  char* part = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = part;
    curl_free(part);
  }
  curl_url_cleanup(u);
  return host;
}

}  // namespace s3nbd
