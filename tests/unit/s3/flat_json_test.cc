// Tests of the flat JSON reader used for credential documents.
#include "cache/s3/flat_json.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(FlatJsonTest, ReadsTopLevelScalars) {
  auto doc = ParseFlatJson(
      R"( {"Version": 1, "AccessKeyId":"AK\u00e9\/x", "Nested": {"a": [1, {"b": null}]},
           "Flag": true, "Neg": -1.5e3, "Esc": "a\"b\\c\n", "Emoji": "\ud83d\ude00"} )");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->at("Version"), "1");
  EXPECT_EQ(doc->at("AccessKeyId"), "AK\xC3\xA9/x");
  EXPECT_EQ(doc->count("Nested"), 1u);
  EXPECT_EQ(doc->at("Flag"), "true");
  EXPECT_EQ(doc->at("Neg"), "-1.5e3");
  EXPECT_EQ(doc->at("Esc"), "a\"b\\c\n");
  EXPECT_EQ(doc->at("Emoji"), "\xF0\x9F\x98\x80");
}

TEST(FlatJsonTest, RejectsMalformedDocuments) {
  for (const char* bad : {"", "[]", "{", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":\"x}",
                          "{\"a\":1} junk", "{\"a\":\"\\q\"}", "{\"a\":\"\\ud800\"}", "{a:1}",
                          "{\"a\":tru}"}) {
    EXPECT_FALSE(ParseFlatJson(bad).ok()) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(ParseFlatJson("{\"a\":" + deep + "}").ok());
  EXPECT_TRUE(ParseFlatJson("{}").ok());
}

}  // namespace
}  // namespace s3nbd
