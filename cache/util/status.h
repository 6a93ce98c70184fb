// Status and Result<T>: the one way errors travel between layers. Both are [[nodiscard]]: a
// dropped error does not compile (cast to void, with a comment, where dropping is meant).
// A Status carries an errno value (what nbdkit will see) and a human message in the
// form "operation: volume/block N: cause". Immutable value type; no locking needed.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>

namespace s3nbd {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(int err, std::string message) {
    return Status(err == 0 ? EIO : err, std::move(message));
  }

  bool ok() const { return err_ == 0; }
  int err() const { return err_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: <old message>".
  Status Wrap(const std::string& context) const {
    if (ok()) return *this;
    return Status(err_, context + ": " + message_);
  }

 private:
  Status(int err, std::string message) : err_(err), message_(std::move(message)) {}
  int err_ = 0;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {            // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Error(EINVAL, "internal: Result built from OK status");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace s3nbd
