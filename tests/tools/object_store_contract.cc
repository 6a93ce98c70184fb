// Test program: the ObjectStore contract (tests/unit/versioned/object_store_contract.h) on
// S3ObjectStore over a real S3 server; driven by tests/integration/test-object-store.sh.
//   S3NBD_TEST_ENDPOINT=http://127.0.0.1:9180 S3NBD_TEST_BUCKET=b AWS_ACCESS_KEY_ID=..
//   AWS_SECRET_ACCESS_KEY=.. s3nbd-test-object-store [--gtest_filter=...]
// The endpoint and bucket are required and checked (HEAD bucket) before any test: a missing
// or unreachable server fails the program (exit 2), it never skips. One S3Client for all.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "cache/s3/s3_client.h"
#include "cache/versioned/s3_object_store.h"
#include "tests/unit/versioned/object_store_contract.h"

namespace s3nbd::testing {
namespace {

S3Client* g_client = nullptr;
std::string g_run;  // a random name per run, so runs on one bucket never meet

class S3ContractEnv : public ContractEnv {
 public:
  S3ContractEnv() : store_(g_client) {
    const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = "contract-" + g_run + "/" + t->name() + "/";
  }
  ObjectStore& store() override { return store_; }
  std::string bucket() const override { return g_client->config().bucket; }
  std::string prefix() const override { return prefix_; }

 private:
  S3ObjectStore store_;
  std::string prefix_;
};

struct S3Factory {
  static std::unique_ptr<ContractEnv> Make() { return std::make_unique<S3ContractEnv>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(S3, ObjectStoreContract, S3Factory);

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace
}  // namespace s3nbd::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* endpoint = s3nbd::testing::Env("S3NBD_TEST_ENDPOINT");
  const char* bucket = s3nbd::testing::Env("S3NBD_TEST_BUCKET");
  if (endpoint == nullptr || bucket == nullptr) {
    std::fprintf(stderr, "object store contract: FATAL: set S3NBD_TEST_ENDPOINT and S3NBD_TEST_BUCKET\n");
    return 2;
  }
  s3nbd::S3Config config;
  config.endpoint = endpoint;
  config.bucket = bucket;
  const char* ak = s3nbd::testing::Env("AWS_ACCESS_KEY_ID");
  const char* sk = s3nbd::testing::Env("AWS_SECRET_ACCESS_KEY");
  config.credentials = {ak != nullptr ? ak : "", sk != nullptr ? sk : "", ""};
  config.retry_seconds = 3;  // s3rver answers 500 to every paged listing: keep its retries short
  config.max_connections = 8;
  s3nbd::Result<std::unique_ptr<s3nbd::S3Client>> client = s3nbd::S3Client::Create(config);
  if (!client.ok()) {
    std::fprintf(stderr, "object store contract: FATAL: %s\n", client.status().message().c_str());
    return 2;
  }
  if (s3nbd::Status s = (*client)->HeadBucket(); !s.ok()) {
    std::fprintf(stderr, "object store contract: FATAL: no usable bucket at %s: %s\n", endpoint,
                 s.message().c_str());
    return 2;
  }
  s3nbd::testing::g_client = client->get();
  std::random_device rd;
  char run[17];
  std::snprintf(run, sizeof run, "%08x%08x", rd(), rd());
  s3nbd::testing::g_run = run;
  std::fprintf(stderr, "object store contract: %s bucket %s, keys under contract-%s/\n", endpoint, bucket, run);
  return RUN_ALL_TESTS();
}
