// Tests of the S3 XML extractor: real-shaped ListObjectsV2 / DeleteResult / Error bodies,
// entity decoding, and hostile input (truncated, garbage, every prefix of a valid body).
#include "cache/s3/s3_xml.h"

#include <gtest/gtest.h>

#include <random>

namespace s3nbd {
namespace {

constexpr char kListPage[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>s3test</Name><Prefix>vol/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Contents><Key>vol/a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x4e2d;</Key>"
    "<LastModified>2026-11-21T10:00:00.000Z</LastModified>"
    "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>1048576</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>vol/b</Key><ETag>\"x\"</ETag><Size>0</Size></Contents>"
    "</ListBucketResult>";

TEST(S3XmlTest, ParsesListPage) {
  Result<S3ListPage> page = ParseListObjectsV2(kListPage);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "vol/a & b <c> \"d\" 'e' \xC3\xA9\xE4\xB8\xAD");
  EXPECT_EQ(page->objects[0].size, 1048576u);
  EXPECT_EQ(page->objects[0].etag, "\"5d41402abc4b2a76b9719d911017c592\"");
  EXPECT_EQ(page->objects[1].key, "vol/b");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, LastPageAndEmptyPage) {
  Result<S3ListPage> page = ParseListObjectsV2(
      "<ListBucketResult><Prefix/><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->is_truncated);
}

TEST(S3XmlTest, RejectsMalformedPages) {
  EXPECT_FALSE(ParseListObjectsV2("").ok());
  EXPECT_FALSE(ParseListObjectsV2("<Error><Code>x</Code></Error>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                  "</ListBucketResult>").ok());  // no token: would loop
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Size>1</Size></Contents>"
                                  "</ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                                  "</Contents></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key>"
                                  "<Size>99999999999999999999999</Size></Contents>"
                                  "</ListBucketResult>").ok());
  // cut or garbled pages must not pass for shorter listings
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                  "<Contents><Key>k</Key>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                  "<Contents><Contents><Key>k</Key></Contents></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key></Contents>"
                                  "</ListBucketResult>").ok());  // no IsTruncated
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>a&bogus;</Key>"
                                  "</Contents></ListBucketResult>").ok());
}

TEST(S3XmlTest, Unescape) {
  EXPECT_EQ(XmlUnescape("plain").value(), "plain");
  EXPECT_EQ(XmlUnescape("&amp;amp;").value(), "&amp;");
  EXPECT_EQ(XmlUnescape("&#x1F600;").value(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(XmlUnescape("&#65;&#x42;").value(), "AB");
  EXPECT_FALSE(XmlUnescape("&").ok());
  EXPECT_FALSE(XmlUnescape("&#;").ok());
  EXPECT_FALSE(XmlUnescape("&#x;").ok());
  EXPECT_FALSE(XmlUnescape("&#0;").ok());
  EXPECT_FALSE(XmlUnescape("&#xD800;").ok());
  EXPECT_FALSE(XmlUnescape("&#x110000;").ok());
  EXPECT_FALSE(XmlUnescape("&#99999999999999999999;").ok());
  EXPECT_FALSE(XmlUnescape("&nbsp;").ok());
  EXPECT_EQ(XmlEscape("a&<>\"'b"), "a&amp;&lt;&gt;&quot;&apos;b");
  EXPECT_EQ(XmlUnescape(XmlEscape("k &x; <y>")).value(), "k &x; <y>");
}

TEST(S3XmlTest, Elements) {
  auto e = XmlElements("<Key>a</Key><KeyCount>3</KeyCount><Key/><Key attr=\"1\">b</Key>", "Key");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "a");
  EXPECT_EQ(e[1], "");
  EXPECT_EQ(e[2], "b");
  EXPECT_TRUE(XmlElements("<Key>unterminated", "Key").empty());
  EXPECT_TRUE(XmlElements("<Key", "Key").empty());
  EXPECT_TRUE(XmlElements("x", "").empty());
}

TEST(S3XmlTest, ErrorDocuments) {
  S3XmlError e = ParseErrorDocument(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match</Message>"
      "<RequestId>tx1</RequestId></Error>");
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature we calculated does not match");
  EXPECT_TRUE(ParseErrorDocument("<html>502 Bad Gateway</html>").code.empty());

  Result<std::vector<S3XmlError>> d = ParseDeleteResult(
      "<DeleteResult><Deleted><Key>ok</Key></Deleted><Error><Key>k &amp; 1</Key>"
      "<Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].key, "k & 1");
  EXPECT_EQ((*d)[0].code, "AccessDenied");
  Result<std::vector<S3XmlError>> quiet = ParseDeleteResult("<DeleteResult/>");
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->empty());
  EXPECT_FALSE(ParseDeleteResult("garbage").ok());
}

// Every prefix of valid bodies and random garbage: must not crash (ASan run checks reads).
TEST(S3XmlTest, VersioningStatus) {
  auto v = ParseVersioningStatus("<VersioningConfiguration xmlns=\"x\"><Status>Suspended</Status></VersioningConfiguration>");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "Suspended");
  v = ParseVersioningStatus("<VersioningConfiguration xmlns=\"x\"/>");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "");
  EXPECT_EQ(ParseVersioningStatus("<Error><Code>x</Code></Error>").status().err(), EPROTO);
  EXPECT_FALSE(ParseVersioningStatus("<VersioningConfiguration><Status>&bad;</Status></VersioningConfiguration>").ok());
}

TEST(S3XmlTest, HostileInputNeverCrashes) {
  const std::string page = kListPage;
  for (size_t n = 0; n <= page.size(); ++n) {
    std::string prefix = page.substr(0, n);
    (void)ParseListObjectsV2(prefix);
    (void)ParseErrorDocument(prefix);
    (void)ParseDeleteResult(prefix);
  }
  std::mt19937 rng(42);
  const std::string alphabet = "<>/&;#x0123456789abKeyContentsSizeErrorIsTruncated \"=";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    size_t len = rng() % 200;
    for (size_t j = 0; j < len; ++j) s += alphabet[rng() % alphabet.size()];
    if (i % 2) s = "<ListBucketResult>" + s;
    (void)ParseListObjectsV2(s);
    (void)ParseErrorDocument(s);
    (void)ParseDeleteResult("<DeleteResult>" + s);
    (void)XmlUnescape(s);
  }
  std::string binary(256, '\0');
  for (int i = 0; i < 256; ++i) binary[i] = static_cast<char>(i);
  (void)ParseListObjectsV2(binary);
}

}  // namespace
}  // namespace s3nbd
