// Tests of S3ObjectStore over loopback S3 servers: the ObjectStore contract on MemoryS3Server
// (S3 semantics over HTTP), also where the server ignores Range or max-keys (the store cuts the
// answer), and scripted answers a real server rarely gives: a short 206, a 409 to a
// create-only PUT, a listing out of order.
#include "cache/versioned/s3_object_store.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/fake_s3_server.h"
#include "tests/unit/s3/memory_s3_server.h"
#include "tests/unit/versioned/object_store_contract.h"

namespace s3nbd::testing {
namespace {

std::unique_ptr<S3Client> ClientFor(const std::string& endpoint) {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = 1;
  c.max_connections = 4;
  Result<std::unique_ptr<S3Client>> r = S3Client::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

// A MemoryS3Server with the behaviour Variant::Behaviour() gives, and a store over it.
template <class Variant>
class ServerContractEnv : public ContractEnv {
 public:
  ServerContractEnv() : server_("bkt", Variant::Behaviour()), client_(ClientFor(server_.endpoint())), store_(client_.get()) {}
  ObjectStore& store() override { return store_; }
  std::string bucket() const override { return "bkt"; }
  std::string prefix() const override { return "vol/"; }

 private:
  MemoryS3Server server_;
  std::unique_ptr<S3Client> client_;
  S3ObjectStore store_;
};

struct HonestServer {
  static MemoryS3Behaviour Behaviour() { return {}; }
};
struct RangeIgnoringServer {
  static MemoryS3Behaviour Behaviour() {
    MemoryS3Behaviour b;
    b.honour_range = false;
    return b;
  }
};
struct MaxKeysIgnoringServer {
  static MemoryS3Behaviour Behaviour() {
    MemoryS3Behaviour b;
    b.paging = false;
    return b;
  }
};
template <class Variant>
struct ServerFactory {
  static std::unique_ptr<ContractEnv> Make() { return std::make_unique<ServerContractEnv<Variant>>(); }
};

using ServerFactories = ::testing::Types<ServerFactory<HonestServer>, ServerFactory<RangeIgnoringServer>,
                                         ServerFactory<MaxKeysIgnoringServer>>;
INSTANTIATE_TYPED_TEST_SUITE_P(S3Memory, ObjectStoreContract, ServerFactories);

std::string ErrorXml(const std::string& code) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
}

TEST(S3ObjectStoreTest, CreateOnlyConflict409IsEexistAndNotRetried) {
  FakeS3Server server({{409, ErrorXml("ConditionalRequestConflict")}});
  auto client = ClientFor(server.endpoint());
  S3ObjectStore store(client.get());
  Status st = store.Put("vol/l/0000000000000001", "seg", PutMode::kCreateOnly, {});
  EXPECT_EQ(st.err(), EEXIST);
  EXPECT_NE(st.message().find("PUT bkt/vol/l/0000000000000001: already exists (create-only PUT, HTTP 409)"),
            std::string::npos)
      << st.message();
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_NE(server.requests()[0].head.find("If-None-Match: *"), std::string::npos);
}

TEST(S3ObjectStoreTest, AShortOrMisplacedRangeAnswerIsEio) {
  FakeS3Server server({{206, "abc", "Content-Range: bytes 10-12/100\r\n"},   // 3 of the 5 asked
                       {206, "abcde", "Content-Range: bytes 11-15/100\r\n"},  // not from offset 10
                       {206, "abcde"},                                        // no Content-Range
                       {206, "abcde", "Content-Range: bytes 10-14/100\r\n"},
                       {206, "abcdefg", "Content-Range: bytes 10-16/100\r\n"}});  // more: cut
  auto client = ClientFor(server.endpoint());
  S3ObjectStore store(client.get());
  std::string body;
  Status st = store.GetRange("k", 10, 5, &body, {});
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("GET bkt/k: bytes 10-14 of a 100-byte object: short answer of 3 bytes"),
            std::string::npos)
      << st.message();
  EXPECT_TRUE(body.empty());
  st = store.GetRange("k", 10, 5, &body, {});
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("GET bkt/k: bytes=10-14: answer 'Content-Range: bytes 11-15/100'"), std::string::npos)
      << st.message();
  st = store.GetRange("k", 10, 5, &body, {});
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("without a valid Content-Range"), std::string::npos) << st.message();
  ASSERT_TRUE(store.GetRange("k", 10, 5, &body, {}).ok());
  EXPECT_EQ(body, "abcde");
  ASSERT_TRUE(store.GetRange("k", 10, 5, &body, {}).ok());
  EXPECT_EQ(body, "abcde");
}

TEST(S3ObjectStoreTest, AListingOutOfOrderOrOutsideThePrefixIsRefused) {
  auto page = [](const std::string& keys) {
    return FakeResponse{200, "<ListBucketResult><IsTruncated>false</IsTruncated>" + keys + "</ListBucketResult>"};
  };
  auto key = [](const std::string& k) { return "<Contents><Key>" + k + "</Key><Size>1</Size></Contents>"; };
  FakeS3Server server({page(key("p/b") + key("p/a")), page(key("p/a")), page(key("q/a")),
                       {200, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t"
                             "</NextContinuationToken></ListBucketResult>"}});
  auto client = ClientFor(server.endpoint());
  S3ObjectStore store(client.get());
  Result<ObjectPage> r = store.List("p/", "", 10, {});
  EXPECT_EQ(r.status().err(), EPROTO);
  EXPECT_NE(r.status().message().find("listed 'p/a' out of order"), std::string::npos) << r.status().message();
  EXPECT_EQ(store.List("p/", "p/a", 10, {}).status().err(), EPROTO);  // start-after ignored
  EXPECT_EQ(store.List("p/", "", 10, {}).status().err(), EPROTO);     // another prefix
  r = store.List("p/", "", 10, {});
  EXPECT_EQ(r.status().err(), EPROTO);  // an empty page that says more follow
  EXPECT_NE(r.status().message().find("empty page"), std::string::npos) << r.status().message();
  const std::string line = server.requests()[1].head.substr(0, server.requests()[1].head.find('\r'));
  EXPECT_EQ(line, "GET /bkt?list-type=2&max-keys=10&prefix=p%2F&start-after=p%2Fa HTTP/1.1");
}

TEST(S3ObjectStoreTest, DeleteManyFailureNamesAKey) {
  FakeS3Server server({{500, ErrorXml("InternalError")}});
  auto client = ClientFor(server.endpoint());
  S3ObjectStore store(client.get());
  Status st = store.DeleteMany({"vol/b/1", "vol/b/2"}, {});
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("delete of 'vol/b/1' and 1 more keys: DELETE bkt (multi-delete of 2 keys)"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace s3nbd::testing
