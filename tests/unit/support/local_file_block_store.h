// FileBlockStore: a test BlockStore keeping each block as a file in a directory, so the
// "remote" survives a SIGKILLed child process (crash tests). Absent block = ENOENT, like the
// bottom of the stack. Thread-safe: each operation is one whole-file write/rename or read.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cache/block_store.h"

namespace s3nbd::testing {

class FileBlockStore : public BlockStore {
 public:
  explicit FileBlockStore(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }
  Status Read(uint64_t block, std::string* data) override {
    std::ifstream in(Path(block), std::ios::binary);
    if (!in) return Status::Error(ENOENT, "read: block " + std::to_string(block) + ": not found");
    std::stringstream ss;
    ss << in.rdbuf();
    *data = ss.str();
    return Status::Ok();
  }
  Status Write(uint64_t block, std::string_view data) override {
    // Atomic replace, like an object PUT.
    std::string tmp = Path(block) + ".tmp" + std::to_string(::gettid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out) return Status::Error(EIO, "write: block " + std::to_string(block) + ": failed");
    }
    std::filesystem::rename(tmp, Path(block));
    return Status::Ok();
  }
  Status Erase(std::span<const uint64_t> blocks) override {
    for (uint64_t b : blocks) ::unlink(Path(b).c_str());
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status List(const std::function<void(uint64_t)>& fn) override {
    for (auto& e : std::filesystem::directory_iterator(dir_)) {
      std::string name = e.path().filename().string();
      if (name.find('.') == std::string::npos) fn(std::stoull(name));
    }
    return Status::Ok();
  }

 private:
  std::string Path(uint64_t block) const { return dir_ + "/" + std::to_string(block); }
  std::string dir_;
};

}  // namespace s3nbd::testing
