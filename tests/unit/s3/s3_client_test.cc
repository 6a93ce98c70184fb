// Tests of S3Client against a scripted loopback HTTP server: request shape (path-style URL,
// signed headers, payload hash, Content-MD5), retries with Retry-After and a resent PUT
// body, no retry of 4xx, errno and message mapping, pagination and counters.
#include "cache/s3/s3_client.h"

#include <gtest/gtest.h>

#include "cache/s3/sigv4.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

std::unique_ptr<S3Client> Client(const std::string& endpoint, double retry_seconds = 5) {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = retry_seconds;
  c.max_connections = 4;
  Result<std::unique_ptr<S3Client>> r = S3Client::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
         "</Message></Error>";
}

TEST(S3ClientTest, CreateValidates) {
  S3Config c;
  c.endpoint = "127.0.0.1:9000";
  c.bucket = "bkt";
  EXPECT_EQ(S3Client::Create(c).status().err(), EINVAL);
  c.endpoint = "http://127.0.0.1:9000";
  c.bucket = "B";
  EXPECT_EQ(S3Client::Create(c).status().err(), EINVAL);
  c.bucket = "bkt";
  c.credentials.access_key = "AKIA";  // no secret
  EXPECT_EQ(S3Client::Create(c).status().err(), EINVAL);
  c.credentials = {};
  EXPECT_TRUE(S3Client::Create(c).ok());
}

TEST(S3ClientTest, PutSignsAndRetriesWithTheWholeBody) {
  FakeS3Server server({{503, ErrorXml("SlowDown", "Please reduce your request rate."),
                        "Retry-After: 0\r\n"},
                       {500, ""},
                       {200, "", "ETag: \"abc\"\r\n"}});
  auto client = Client(server.endpoint());
  std::string etag;
  Status s = client->Put("vol/blk 1", "payload", {}, &etag);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(etag, "\"abc\"");
  std::vector<FakeRequest> reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const FakeRequest& r : reqs) {
    EXPECT_EQ(r.head.substr(0, r.head.find('\r')), "PUT /bkt/vol/blk%201 HTTP/1.1");
    EXPECT_EQ(r.body, "payload");
    EXPECT_NE(r.head.find("x-amz-content-sha256: " + Sha256Hex("payload")), std::string::npos);
    EXPECT_NE(r.head.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIATEST/"),
              std::string::npos);
    EXPECT_EQ(r.head.find("Expect:"), std::string::npos);
  }
  EXPECT_EQ(client->counters().retries.load(), 2u);
  EXPECT_EQ(client->counters().put.load(), 1u);
  EXPECT_EQ(client->counters().errors.load(), 0u);
}

TEST(S3ClientTest, GivesUpAfterTheBudgetWithAClearMessage) {
  FakeS3Server server({{503, ErrorXml("SlowDown", "Please reduce your request rate.")}});
  auto client = Client(server.endpoint(), 0.3);
  Status s = client->Put("k", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EIO);
  EXPECT_EQ(s.message().rfind("PUT bkt/k: HTTP 503 SlowDown: Please reduce your request rate. "
                              "(gave up after ", 0),
            0u)
      << s.message();
  EXPECT_GT(server.requests().size(), 2u);
  EXPECT_EQ(client->counters().errors.load(), 1u);
}

TEST(S3ClientTest, ClientErrorsAreNotRetried) {
  FakeS3Server server({{403, ErrorXml("SignatureDoesNotMatch", "The request signature we "
                                                               "calculated does not match")}});
  auto client = Client(server.endpoint());
  std::string body;
  Status s = client->Get("k", &body);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_EQ(s.message(),
            "GET bkt/k: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does "
            "not match (check the secret key)");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(S3ClientTest, NotFoundCases) {
  FakeS3Server server({{404, ErrorXml("NoSuchKey", "")},
                       {404, ErrorXml("NoSuchKey", "")},
                       {404, ErrorXml("NoSuchBucket", "")}});
  auto client = Client(server.endpoint());
  std::string body;
  Status s = client->Get("k", &body);
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.message(), "GET bkt/k: not found");
  EXPECT_TRUE(client->Delete("k").ok());  // S3 semantics: deleting nothing succeeds
  s = client->Get("k", &body);
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.message(), "GET bkt/k: bucket 'bkt' does not exist at " + server.endpoint());
}

TEST(S3ClientTest, GetReusesTheCallersBufferAndKeepsOnlyTheLastAttempt) {
  std::string big(200000, 'b');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>(i);
  FakeS3Server server({{503, ErrorXml("SlowDown", "wait"), "Retry-After: 0\r\n"},
                       {200, big},
                       {200, "small"},
                       {404, ErrorXml("NoSuchKey", "")}});
  auto client = Client(server.endpoint());
  std::string body;
  body.reserve(300000);
  const char* memory = body.data();
  ASSERT_TRUE(client->Get("k", &body).ok());
  EXPECT_EQ(body, big) << "the 503's error document must not be part of the body";
  EXPECT_EQ(body.data(), memory) << "received into the caller's buffer";
  body = "leftover";
  ASSERT_TRUE(client->Get("k", &body).ok());
  EXPECT_EQ(body, "small");
  EXPECT_EQ(body.data(), memory);
  EXPECT_EQ(client->Get("k", &body).err(), ENOENT);
  EXPECT_EQ(body, "") << "no error document where the caller expects the object";
}

TEST(S3ClientTest, CreateOnlyPutMapsPreconditionFailedToEexist) {
  FakeS3Server server({{412, ErrorXml("PreconditionFailed", "")}});
  auto client = Client(server.endpoint());
  S3PutOptions options;
  options.if_none_match = true;
  Status s = client->Put("lease", "x", options);
  EXPECT_EQ(s.err(), EEXIST);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_NE(server.requests()[0].head.find("If-None-Match: *"), std::string::npos);
  EXPECT_EQ(client->counters().errors.load(), 0u);
}

TEST(S3ClientTest, DeleteManySendsContentMd5AndReportsFailedKeys) {
  FakeS3Server server({{200, "<DeleteResult></DeleteResult>"},
                       {200, "<DeleteResult><Error><Key>k &amp; 3</Key><Code>AccessDenied</Code>"
                             "<Message>Access Denied</Message></Error></DeleteResult>"}});
  auto client = Client(server.endpoint());
  std::vector<std::string> keys;
  for (int i = 0; i < 1001; ++i) keys.push_back("k & " + std::to_string(i));
  Status s = client->DeleteMany(keys);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_NE(s.message().find("key 'k & 3': AccessDenied: Access Denied"), std::string::npos)
      << s.message();
  std::vector<FakeRequest> reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].head.substr(0, reqs[0].head.find('\r')), "POST /bkt?delete= HTTP/1.1");
  EXPECT_NE(reqs[0].head.find("Content-MD5: " + Md5Base64(reqs[0].body)), std::string::npos);
  EXPECT_NE(reqs[0].head.find("Content-Type: application/xml"), std::string::npos);
  EXPECT_EQ(reqs[0].head.find("Content-Type:"), reqs[0].head.rfind("Content-Type:"));
  EXPECT_NE(reqs[0].body.find("<Quiet>true</Quiet>"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("<Object><Key>k &amp; 999</Key></Object>"), std::string::npos);
  EXPECT_EQ(reqs[0].body.find("k &amp; 1000<"), std::string::npos);  // 1000 keys per call
  EXPECT_NE(reqs[1].body.find("<Key>k &amp; 1000</Key>"), std::string::npos);
  EXPECT_EQ(client->counters().multi_delete.load(), 2u);
}

// Google Cloud Storage's XML API: "POST ?delete is not implemented for objects" (501), older
// versions 400 InvalidArgument. The keys go one DELETE each, now and in later calls.
TEST(S3ClientTest, DeleteManyFallsBackToSingleDeletesWhereDeleteObjectsIsNotImplemented) {
  for (auto [status, code] : {std::pair{501, "NotImplemented"}, std::pair{400, "InvalidArgument"}}) {
    SCOPED_TRACE(code);
    const std::string err = std::string("<Error><Code>") + code + "</Code><Message>A header or "
                            "query you provided requested a function that is not implemented."
                            "</Message></Error>";
    FakeS3Server server({{status, err}, {204, ""}, {204, ""}, {204, ""}});
    auto client = Client(server.endpoint());
    EXPECT_FALSE(client->single_deletes());
    ASSERT_TRUE(client->DeleteMany({"a", "b"}).ok());
    EXPECT_TRUE(client->single_deletes());
    EXPECT_NE(client->single_deletes_cause().find(code), std::string::npos)
        << client->single_deletes_cause();
    ASSERT_TRUE(client->DeleteMany({"c"}).ok());  // no second POST
    std::vector<FakeRequest> reqs = server.requests();
    ASSERT_EQ(reqs.size(), 4u);
    auto line = [&](size_t i) { return reqs[i].head.substr(0, reqs[i].head.find('\r')); };
    EXPECT_EQ(line(0), "POST /bkt?delete= HTTP/1.1");
    EXPECT_EQ(line(1), "DELETE /bkt/a HTTP/1.1");
    EXPECT_EQ(line(2), "DELETE /bkt/b HTTP/1.1");
    EXPECT_EQ(line(3), "DELETE /bkt/c HTTP/1.1");
    EXPECT_EQ(client->counters().multi_delete.load(), 1u);
  }
}

TEST(S3ClientTest, DeleteManyDoesNotFallBackOnOtherRefusals) {
  FakeS3Server server({{403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"},
                       {400, "<Error><Code>MalformedXML</Code><Message>bad</Message></Error>"}});
  auto client = Client(server.endpoint());
  EXPECT_EQ(client->DeleteMany({"a", "b"}).err(), EACCES);
  EXPECT_FALSE(client->DeleteMany({"a", "b"}).ok());
  EXPECT_FALSE(client->single_deletes());
  EXPECT_EQ(server.requests().size(), 2u);  // two POSTs, no DELETE
}

TEST(S3ClientTest, ListFollowsContinuationTokens) {
  FakeS3Server server(
      {{200, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/1="
             "</NextContinuationToken><Contents><Key>p/a</Key><Size>3</Size></Contents>"
             "</ListBucketResult>"},
       {200, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/b</Key>"
             "<Size>4</Size></Contents></ListBucketResult>"}});
  auto client = Client(server.endpoint());
  std::vector<std::string> keys;
  Status s = client->List("p/", [&](const S3ObjectInfo& o) {
    keys.push_back(o.key + ":" + std::to_string(o.size));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(keys, (std::vector<std::string>{"p/a:3", "p/b:4"}));
  std::vector<FakeRequest> reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].head.substr(0, reqs[0].head.find('\r')),
            "GET /bkt?list-type=2&prefix=p%2F HTTP/1.1");
  EXPECT_EQ(reqs[1].head.substr(0, reqs[1].head.find('\r')),
            "GET /bkt?continuation-token=t%2F1%3D&list-type=2&prefix=p%2F HTTP/1.1");
}

TEST(S3ClientTest, ConnectionRefusedIsHostUnreachable) {
  int port;
  {
    FakeS3Server server({{200, ""}});
    port = std::stoi(server.endpoint().substr(server.endpoint().rfind(':') + 1));
  }  // closed: nothing listens there now
  auto client = Client("http://127.0.0.1:" + std::to_string(port), 0.2);
  Status s = client->Delete("k");
  EXPECT_EQ(s.err(), EHOSTUNREACH);
  EXPECT_NE(s.message().find("cannot reach http://127.0.0.1:"), std::string::npos) << s.message();
}

TEST(S3ClientTest, AnonymousRequestsAreUnsigned) {
  FakeS3Server server({{200, "data"}});
  S3Config c;
  c.endpoint = server.endpoint();
  c.bucket = "bkt";
  auto client = std::move(S3Client::Create(c)).value();
  std::string body;
  ASSERT_TRUE(client->Get("k", &body).ok());
  EXPECT_EQ(body, "data");
  EXPECT_EQ(server.requests()[0].head.find("Authorization:"), std::string::npos);
  EXPECT_EQ(client->counters().bytes_in.load(), 4u);
}

// ---- the operations s3nbd doctor needs (provider_probe.cc) ----------------------------

std::string RequestLine(const FakeRequest& r) { return r.head.substr(0, r.head.find('\r')); }

TEST(S3ClientTest, IfMatchPutSendsTheEtagAndMapsPreconditionFailedToEcanceled) {
  FakeS3Server server({{412, ErrorXml("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")},
                       {200, "", "ETag: \"new\"\r\n"}});
  auto client = Client(server.endpoint());
  S3PutOptions options;
  options.if_match = "\"abc\"";
  Status s = client->Put("k", "x", options);
  EXPECT_EQ(s.err(), ECANCELED);
  EXPECT_NE(s.message().find("precondition failed: its ETag is not \"abc\""), std::string::npos) << s.message();
  std::string etag;
  ASSERT_TRUE(client->Put("k", "y", options, &etag).ok());
  EXPECT_EQ(etag, "\"new\"");
  ASSERT_EQ(server.requests().size(), 2u);  // a 412 is an answer, not retried
  EXPECT_NE(server.requests()[0].head.find("If-Match: \"abc\""), std::string::npos);
  EXPECT_EQ(server.requests()[0].head.find("If-None-Match"), std::string::npos);
  EXPECT_EQ(client->counters().errors.load(), 0u);
}

TEST(S3ClientTest, GetRangeSendsTheRangeAndTellsAPartialAnswerFromTheWholeObject) {
  FakeS3Server server({{206, "bcd", "Content-Range: bytes 1-3/6\r\n"}, {200, "abcdef"},
                       {404, ErrorXml("NoSuchKey", "")}});
  auto client = Client(server.endpoint());
  std::string body;
  bool partial = false;
  uint64_t size = 0;
  ASSERT_TRUE(client->GetRange("k", 1, 3, &body, &partial, {}, &size).ok());
  EXPECT_TRUE(partial);
  EXPECT_EQ(body, "bcd");
  EXPECT_EQ(size, 6u);  // from Content-Range
  ASSERT_TRUE(client->GetRange("k", 1, 3, &body, &partial, {}, &size).ok());
  EXPECT_FALSE(partial);  // the server ignored the Range header
  EXPECT_EQ(body, "abcdef");
  EXPECT_EQ(size, 6u);
  EXPECT_EQ(client->GetRange("k", 1, 3, &body, &partial).err(), ENOENT);
  EXPECT_NE(server.requests()[0].head.find("Range: bytes=1-3\r\n"), std::string::npos);
  EXPECT_EQ(client->GetRange("k", 0, 0, &body, &partial).err(), EINVAL);
}

TEST(S3ClientTest, GetRangeRefusesAnAnswerThatIsNotTheRange) {
  FakeS3Server server({{206, "bc", "Content-Range: bytes 1-3/6\r\n"},     // short body
                       {206, "cde", "Content-Range: bytes 2-4/6\r\n"},    // another range
                       {206, "bcd"},                                       // no Content-Range
                       {206, "bcd", "Content-Range: bytes 1-3/*\r\n"},    // size unknown: fine
                       {416, ErrorXml("InvalidRange", "The requested range is not satisfiable")}});
  auto client = Client(server.endpoint());
  std::string body;
  bool partial = false;
  uint64_t size = 0;
  for (int i = 0; i < 3; ++i) {
    Status s = client->GetRange("k", 1, 3, &body, &partial, {}, &size);
    EXPECT_EQ(s.err(), EIO) << i << ": " << s.message();
    EXPECT_EQ(s.message().rfind("GET bkt/k: bytes=1-3: ", 0), 0u) << s.message();
    EXPECT_TRUE(body.empty());
  }
  ASSERT_TRUE(client->GetRange("k", 1, 3, &body, &partial, {}, &size).ok());
  EXPECT_EQ(size, 4u);  // at least up to the end of the range
  Status s = client->GetRange("k", 10, 3, &body, &partial);
  EXPECT_EQ(s.err(), ERANGE);
  EXPECT_NE(s.message().find("GET bkt/k: bytes=10-12 starts at or past the end of the object (HTTP 416)"),
            std::string::npos) << s.message();
  EXPECT_EQ(server.requests().size(), 5u);  // none of these is retried
}

TEST(S3ClientTest, GetRangeAndListPageStopAtTheDeadline) {
  FakeS3Server server({{200, ""}});
  auto client = Client(server.endpoint());
  const S3Deadline past{1, "writer lease expired"};
  std::string body;
  bool partial = false;
  Status s = client->GetRange("k", 0, 3, &body, &partial, past);
  EXPECT_EQ(s.err(), EROFS);
  EXPECT_NE(s.message().find("GET bkt/k: abandoned: writer lease expired"), std::string::npos) << s.message();
  auto page = client->ListPage("p/", 2, "", "", past);
  EXPECT_EQ(page.status().err(), EROFS);
  EXPECT_NE(page.status().message().find("LIST bkt prefix 'p/': abandoned: writer lease expired"), std::string::npos)
      << page.status().message();
  EXPECT_TRUE(server.requests().empty());
}

TEST(S3ClientTest, CreateOnlyPutConflict409IsEexist) {
  // AWS answers 409 ConditionalRequestConflict when two conditional writes of a key race.
  FakeS3Server server({{409, ErrorXml("ConditionalRequestConflict", "A conflicting conditional operation is in progress")}});
  auto client = Client(server.endpoint());
  S3PutOptions options;
  options.if_none_match = true;
  Status s = client->Put("k", "x", options);
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_NE(s.message().find("PUT bkt/k: already exists (create-only PUT, HTTP 409)"), std::string::npos) << s.message();
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(client->counters().errors.load(), 0u);
}

TEST(S3ClientTest, ListPageAsksForMaxKeysFromTheToken) {
  FakeS3Server server(
      {{200, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>n2"
             "</NextContinuationToken><Contents><Key>p/a</Key><Size>1</Size><ETag>\"e\"</ETag>"
             "</Contents></ListBucketResult>"},
       {200, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t1"
             "</NextContinuationToken></ListBucketResult>"}});
  auto client = Client(server.endpoint());
  auto page = client->ListPage("p/", 2, "t1");
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "p/a");
  EXPECT_EQ(page->objects[0].etag, "\"e\"");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "n2");
  EXPECT_EQ(RequestLine(server.requests()[0]),
            "GET /bkt?continuation-token=t1&list-type=2&max-keys=2&prefix=p%2F HTTP/1.1");
  auto repeated = client->ListPage("p/", 2, "t1");  // the server gave the same token again
  EXPECT_EQ(repeated.status().err(), EPROTO);
}

TEST(S3ClientTest, ListPageStartsAfterAKeyOnlyWithoutAToken) {
  FakeS3Server server({{200, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"}});
  auto client = Client(server.endpoint());
  ASSERT_TRUE(client->ListPage("p/", 2, "", "p/l/05").ok());
  ASSERT_TRUE(client->ListPage("p/", 2, "tok", "p/l/05").ok());  // S3 ignores it with a token
  EXPECT_EQ(RequestLine(server.requests()[0]),
            "GET /bkt?list-type=2&max-keys=2&prefix=p%2F&start-after=p%2Fl%2F05 HTTP/1.1");
  EXPECT_EQ(RequestLine(server.requests()[1]),
            "GET /bkt?continuation-token=tok&list-type=2&max-keys=2&prefix=p%2F HTTP/1.1");
}

TEST(S3ClientTest, GetBucketVersioningReadsTheStatus) {
  FakeS3Server server(
      {{200, "<?xml version=\"1.0\"?><VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"},
       {200, "<VersioningConfiguration/>"},
       {501, ErrorXml("NotImplemented", "not here")}});
  auto client = Client(server.endpoint());
  auto v = client->GetBucketVersioning();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, "Enabled");
  v = client->GetBucketVersioning();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, "");  // never versioned
  v = client->GetBucketVersioning();
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("GET bkt?versioning: HTTP 501 NotImplemented"), std::string::npos)
      << v.status().message();
  EXPECT_EQ(RequestLine(server.requests()[0]), "GET /bkt?versioning= HTTP/1.1");
}

TEST(S3ClientTest, HeadBucketReturnsTheServersDateAlsoWithARefusal) {
  FakeS3Server server({{200, "", "Date: Tue, 01 Dec 2026 22:00:00 GMT\r\n"},
                       {403, "", "Date: Tue, 01 Dec 2026 22:00:01 GMT\r\n"},
                       {403, ErrorXml("RequestTimeTooSkewed", "skewed")}});
  auto client = Client(server.endpoint());
  std::string date;
  ASSERT_TRUE(client->HeadBucket(&date).ok());
  EXPECT_EQ(date, "Tue, 01 Dec 2026 22:00:00 GMT");
  Status s = client->HeadBucket(&date);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_NE(s.message().find("check the system clock"), std::string::npos) << s.message();
  EXPECT_EQ(date, "Tue, 01 Dec 2026 22:00:01 GMT");
}

}  // namespace
}  // namespace s3nbd
