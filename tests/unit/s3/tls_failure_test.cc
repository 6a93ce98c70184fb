// Tests of the TLS failure messages: each curl/OpenSSL verdict names the check that failed,
// the host and the setting to change; non-TLS failures are left to the caller.
#include "cache/s3/tls_failure.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

namespace s3nbd {
namespace {

TlsFailure Failure(int code, long verify, std::string ca_file = "", std::string virtual_base = "") {
  TlsFailure f;
  f.curl_code = code;
  f.verify_result = verify;
  f.curl_error = "curl says so";
  f.host = "b1.s3.example";
  f.ca_file = std::move(ca_file);
  f.virtual_base = std::move(virtual_base);
  f.endpoint = "https://s3.example:8443";
  return f;
}

TEST(TlsFailureTest, UntrustedCaPointsAtCaFile) {
  std::string m = DescribeTlsFailure(
      Failure(CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
  EXPECT_EQ(
      m.rfind("TLS certificate verification failed for b1.s3.example (https://s3.example:8443): "
              "curl says so (",
              0),
      0u)
      << m;
  EXPECT_NE(m.find("not signed by a CA in the system CA store"), std::string::npos) << m;
  EXPECT_NE(m.find("set ca-file=PATH"), std::string::npos) << m;
  m = DescribeTlsFailure(Failure(CURLE_PEER_FAILED_VERIFICATION,
                                 X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "/etc/my-ca.pem"));
  EXPECT_NE(m.find("not signed by a CA in ca-file '/etc/my-ca.pem'"), std::string::npos) << m;
}

TEST(TlsFailureTest, HostMismatchNamesTheHost) {
  // libcurl leaves X509_V_OK or its placeholder 1 when only its host name check failed
  for (long verify : {static_cast<long>(X509_V_OK), static_cast<long>(X509_V_ERR_UNSPECIFIED)}) {
    std::string m = DescribeTlsFailure(Failure(CURLE_PEER_FAILED_VERIFICATION, verify, "/ca.pem"));
    EXPECT_EQ(m.rfind("TLS certificate verification failed for b1.s3.example", 0), 0u) << m;
    EXPECT_NE(m.find("does not name the host 'b1.s3.example'"), std::string::npos) << m;
    EXPECT_NE(m.find("ca-file= only chooses which CAs are trusted"), std::string::npos) << m;
    EXPECT_EQ(m.find("addressing="), std::string::npos) << m;
  }
  std::string m = DescribeTlsFailure(Failure(CURLE_PEER_FAILED_VERIFICATION, 0, "", "s3.example"));
  EXPECT_NE(m.find("cover BUCKET.s3.example, such as *.s3.example, or use addressing=path"),
            std::string::npos)
      << m;
}

TEST(TlsFailureTest, ExpiredAndOtherChainErrors) {
  std::string m =
      DescribeTlsFailure(Failure(CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_CERT_HAS_EXPIRED));
  EXPECT_NE(m.find("outside its validity period"), std::string::npos) << m;
  m = DescribeTlsFailure(Failure(CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_CERT_REVOKED));
  EXPECT_NE(m.find("OpenSSL verify error " + std::to_string(X509_V_ERR_CERT_REVOKED)),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("ca-file=PATH"), std::string::npos) << m;
}

TEST(TlsFailureTest, CaFileAndHandshake) {
  std::string m = DescribeTlsFailure(Failure(CURLE_SSL_CACERT_BADFILE, 0, "/nope.pem"));
  EXPECT_EQ(
      m.rfind("TLS to b1.s3.example (https://s3.example:8443): cannot load ca-file '/nope.pem': ",
              0),
      0u)
      << m;
  m = DescribeTlsFailure(Failure(CURLE_SSL_CONNECT_ERROR, 0));
  EXPECT_EQ(
      m.rfind("TLS handshake with b1.s3.example (https://s3.example:8443) failed: curl says so", 0),
      0u)
      << m;
}

TEST(TlsFailureTest, OtherFailuresAreNotTls) {
  for (int code : {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR}) {
    EXPECT_EQ(DescribeTlsFailure(Failure(code, 0)), "") << code;
  }
  TlsFailure f = Failure(CURLE_PEER_FAILED_VERIFICATION, 0);
  f.host = "";
  f.endpoint = "";
  EXPECT_EQ(DescribeTlsFailure(f).rfind("TLS certificate verification failed for the server: ", 0),
            0u);
}

TEST(TlsFailureTest, HostOfUrl) {
  EXPECT_EQ(HostOfUrl("https://sts.example.com:8443/x?y=1"), "sts.example.com");
  EXPECT_EQ(HostOfUrl("http://127.0.0.1/"), "127.0.0.1");
  EXPECT_EQ(HostOfUrl("not a url"), "");
}

}  // namespace
}  // namespace s3nbd
