// The one list of stats keys (nbdkit-plugin/stats_keys.h) against its two other homes: the key
// table of docs/stats.md (read from the source tree; a missing file fails) and the Prometheus
// table of `s3nbd stats` (daemon/stats_report.cc). Every key in each, with the same kind.
#include "nbdkit-plugin/stats_keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "daemon/stats_report.h"

namespace s3nbd {
namespace {

std::string KindName(stats::Kind k) { return k == stats::Kind::kCounter ? "counter" : "gauge"; }

std::map<std::string, std::string> ListedKeys() {
  std::map<std::string, std::string> out;
  for (const stats::KeyInfo& k : stats::kKeys) {
    EXPECT_TRUE(out.emplace(k.name, KindName(k.kind)).second) << k.name << " is listed twice";
  }
  return out;
}

// The rows of the table under "| key | kind | meaning |": each `key` of the first column with
// the kind of its row.
std::map<std::string, std::string> DocumentedKeys(const std::string& doc) {
  std::map<std::string, std::string> out;
  std::istringstream in(doc);
  std::string line;
  bool table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| key | kind | meaning |", 0) == 0) {
      table = true;
      continue;
    }
    if (!table) continue;
    if (line.empty() || line[0] != '|') break;
    if (line.rfind("|---", 0) == 0) continue;
    const size_t c1 = line.find('|', 1), c2 = line.find('|', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) {
      ADD_FAILURE() << "docs/stats.md: a table row without three columns: " << line;
      continue;
    }
    std::string kind = line.substr(c1 + 1, c2 - c1 - 1);
    kind.erase(0, kind.find_first_not_of(' '));
    kind.erase(kind.find_last_not_of(' ') + 1);
    const std::string keys = line.substr(1, c1 - 1);
    for (size_t at = keys.find('`'); at != std::string::npos; at = keys.find('`', at + 1)) {
      const size_t end = keys.find('`', at + 1);
      if (end == std::string::npos) break;
      EXPECT_TRUE(out.emplace(keys.substr(at + 1, end - at - 1), kind).second)
          << keys.substr(at + 1, end - at - 1) << " is documented twice";
      at = end;
    }
  }
  return out;
}

TEST(StatsKeysTest, TheListAndDocsStatsMdAgree) {
  const std::string path = std::string(S3NBD_SOURCE_DIR) + "/docs/stats.md";
  std::ifstream f(path);
  ASSERT_TRUE(f) << "cannot read " << path << " (the test reads the source tree's docs)";
  std::stringstream doc;
  doc << f.rdbuf();
  const auto documented = DocumentedKeys(doc.str());
  ASSERT_GT(documented.size(), 10u) << path << ": no key table found";
  const auto listed = ListedKeys();
  for (const auto& [key, kind] : listed) {
    auto it = documented.find(key);
    if (it == documented.end()) {
      ADD_FAILURE() << key << " (stats_keys.h) is missing from the table of " << path;
    } else {
      EXPECT_EQ(it->second, kind) << key << ": kind in " << path;
    }
  }
  for (const auto& [key, kind] : documented) {
    EXPECT_TRUE(listed.count(key)) << key << " (" << path << ") is not in nbdkit-plugin/stats_keys.h";
  }
}

TEST(StatsKeysTest, ThePrometheusTableReadsListedKeysOfTheirKind) {
  const auto listed = ListedKeys();
  const auto read = cli::PrometheusStatsKeys();
  for (const auto& [key, type] : read) {
    auto it = listed.find(key);
    if (it == listed.end()) {
      ADD_FAILURE() << "the Prometheus table reads " << key << ", which is not in stats_keys.h";
    } else {
      EXPECT_EQ(it->second, type) << key << ": metric type";
    }
  }
  for (const auto& [key, kind] : listed) {
    if (key != stats::kPid) {
      EXPECT_TRUE(read.count(key)) << key << " has no Prometheus metric";
    }
  }
}

}  // namespace
}  // namespace s3nbd
