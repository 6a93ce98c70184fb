// Tests of the SigV4 signer against AWS's published vectors: the "aws-sig-v4-test-suite"
// (AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service"; expected values copied from
// the suite's .creq/.sts/.authz files) and the S3 API reference "GET Object" example.
#include "cache/s3/sigv4.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

const Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr char kPrefix[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

SigV4Request SuiteRequest(std::string method, std::string uri, QueryList query = {},
                          HeaderList extra = {}) {
  SigV4Request r;
  r.method = std::move(method);
  r.canonical_uri = std::move(uri);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  for (auto& h : extra) r.headers.push_back(h);
  r.payload_hash = std::string(kEmptySha256);
  r.region = "us-east-1";
  r.service = "service";
  r.amz_date = "20150830T123600Z";
  return r;
}

// get-vanilla: canonical request, string to sign and Authorization.
TEST(SigV4Test, GetVanilla) {
  SigV4Result r = SignV4(SuiteRequest("GET", "/"), kSuiteCredentials);
  EXPECT_EQ(r.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(r.authorization, std::string(kPrefix) +
                                 "SignedHeaders=host;x-amz-date, Signature="
                                 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// get-vanilla-query-order-key-case: parameters sorted by name.
TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  SigV4Result r = SignV4(SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
                         kSuiteCredentials);
  EXPECT_EQ(r.canonical_request,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(r.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// get-vanilla-query-order-value: same name, sorted by value.
TEST(SigV4Test, GetVanillaQueryOrderValue) {
  SigV4Result r = SignV4(SuiteRequest("GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}),
                         kSuiteCredentials);
  EXPECT_EQ(r.signature, "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

// get-vanilla-query-unreserved: the unreserved set is not encoded.
TEST(SigV4Test, GetVanillaQueryUnreserved) {
  const std::string u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  SigV4Result r = SignV4(SuiteRequest("GET", "/", {{u, u}}), kSuiteCredentials);
  EXPECT_EQ(r.signature, "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

// get-vanilla-utf8-query: UTF-8 query names are percent-encoded byte by byte.
TEST(SigV4Test, GetVanillaUtf8Query) {
  SigV4Result r = SignV4(SuiteRequest("GET", "/", {{"\xE1\x88\xB4", "bar"}}), kSuiteCredentials);
  EXPECT_EQ(r.canonical_request,
            "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073");
  EXPECT_EQ(r.signature, "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

// get-unreserved and get-utf8: the path is encoded once, by UriEncode, and not again.
TEST(SigV4Test, GetUnreservedAndUtf8Path) {
  const std::string u = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(UriEncode(u, false), u);
  SigV4Result r = SignV4(SuiteRequest("GET", UriEncode(u, false)), kSuiteCredentials);
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9");
  EXPECT_EQ(r.signature, "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");

  EXPECT_EQ(UriEncode("/\xE1\x88\xB4", false), "/%E1%88%B4");
  r = SignV4(SuiteRequest("GET", UriEncode("/\xE1\x88\xB4", false)), kSuiteCredentials);
  EXPECT_EQ(r.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

// get-space: "/example space/" -> "/example%20space/".
TEST(SigV4Test, GetSpace) {
  EXPECT_EQ(UriEncode("/example space/", false), "/example%20space/");
  SigV4Result r = SignV4(SuiteRequest("GET", "/example%20space/"), kSuiteCredentials);
  EXPECT_EQ(r.signature, "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

// get-header-value-trim: values trimmed, inner runs of spaces collapsed.
TEST(SigV4Test, GetHeaderValueTrim) {
  SigV4Result r = SignV4(
      SuiteRequest("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
      kSuiteCredentials);
  EXPECT_EQ(r.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.authorization, std::string(kPrefix) +
                                 "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature="
                                 "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

// get-header-key-duplicate: repeated headers joined with ',' in order.
TEST(SigV4Test, GetHeaderKeyDuplicate) {
  SigV4Result r = SignV4(SuiteRequest("GET", "/", {},
                                      {{"My-Header1", "value2"},
                                       {"My-Header1", "value2"},
                                       {"My-Header1", "value1"}}),
                         kSuiteCredentials);
  EXPECT_EQ(r.signature, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

// post-vanilla and post-vanilla-query.
TEST(SigV4Test, PostVanilla) {
  EXPECT_EQ(SignV4(SuiteRequest("POST", "/"), kSuiteCredentials).signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  EXPECT_EQ(SignV4(SuiteRequest("POST", "/", {{"Param1", "value1"}}), kSuiteCredentials).signature,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

// post-x-www-form-urlencoded: a body, its SHA-256 and a signed Content-Type.
TEST(SigV4Test, PostXWwwFormUrlencoded) {
  SigV4Request req =
      SuiteRequest("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}});
  req.payload_hash = Sha256Hex("Param1=value1");
  EXPECT_EQ(req.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(SignV4(req, kSuiteCredentials).authorization,
            std::string(kPrefix) +
                "SignedHeaders=content-type;host;x-amz-date, Signature="
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

// post-sts-header-before: the session token is a signed header.
TEST(SigV4Test, PostStsHeaderBefore) {
  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSP"
      "fIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT"
      "7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlz"
      "m8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  SigV4Result r =
      SignV4(SuiteRequest("POST", "/", {}, {{"X-Amz-Security-Token", token}}), kSuiteCredentials);
  EXPECT_EQ(r.authorization, std::string(kPrefix) +
                                 "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
                                 "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

// Amazon S3 API Reference, "Signature Calculations for the Authorization Header", Example:
// GET Object (first 10 bytes of examplebucket/test.txt).
TEST(SigV4Test, S3GetObjectExample) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", std::string(kEmptySha256)},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = std::string(kEmptySha256);
  r.region = "us-east-1";
  r.service = "s3";
  r.amz_date = "20130524T000000Z";
  SigV4Result s =
      SignV4(r, Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""});
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, Helpers) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(UriEncode("a b/c+d=e&f", true), "a%20b%2Fc%2Bd%3De%26f");
  EXPECT_EQ(CanonicalQueryString({{"delete", ""}}), "delete=");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "a/b c"}, {"list-type", "2"}}),
            "list-type=2&prefix=a%2Fb%20c");
}

}  // namespace
}  // namespace s3nbd
