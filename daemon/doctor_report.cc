// Table and JSON output of `s3nbd doctor`; see doctor_report.h.
#include "daemon/doctor_report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace s3nbd::cli {
namespace {

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

void Rows(std::string* out, const char* title, const char* third,
          const std::vector<ProbeRow>& rows) {
  size_t width = std::string(title).size();
  for (const ProbeRow& r : rows) width = std::max(width, r.name.size());
  *out += Pad(title, width) + "  " + Pad("result", 7) + "  " + third + "\n";
  for (const ProbeRow& r : rows)
    *out += Pad(r.name, width) + "  " + Pad(RowLevelName(r.level), 7) + "  " + r.detail + "\n";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string JsonRows(const std::vector<ProbeRow>& rows) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const ProbeRow& r = rows[i];
    out += std::string(i ? "," : "") + "{\"name\":" + JsonString(r.name) +
           ",\"result\":" + JsonString(Lower(RowLevelName(r.level))) +
           ",\"detail\":" + JsonString(r.detail) +
           ",\"essential\":" + (r.essential ? "true" : "false") + "}";
  }
  return out + "]";
}

bool LeaseTrusted(const ProbeReport& report) { return report.facts.create_only == Support::kYes; }

}  // namespace

std::string DoctorVerdict(int exit_code) {
  if (exit_code == kDoctorOk) return "ok";
  if (exit_code == kDoctorWarnings) return "usable with warnings";
  return "FAILED: s3nbd cannot use this provider";
}

std::string DoctorTable(const DoctorHeader& h, const ProbeReport& report) {
  std::string out = "s3nbd doctor: " + h.endpoint + ", bucket " + h.bucket +
                    (h.volume.empty() ? "" : ", volume " + h.volume) + "\n";
  out += "scratch area: s3://" + h.bucket + "/" + report.area + " (deleted at the end)\n";
  if (!report.block_size_origin.empty())
    out += "block size: " + std::to_string(report.block_size) + " (" + report.block_size_origin +
           ")\n";
  out += "\n";
  Rows(&out, "check", "detail", report.checks);
  out += "\n";
  Rows(&out, "feature", "why", report.features);
  out += "\n";
  if (report.facts.bucket_exists && report.facts.basic_io && !LeaseTrusted(report)) {
    out += "WARNING: the writer lease cannot be trusted here (create-only PUT is " +
           std::string(report.facts.create_only == Support::kUnknown ? "untested" : "ignored") +
           "): a second writer would not be kept out. s3nbd refuses writable opens, destroy and "
           "passwd unless unsafe-single-host=true (--unsafe-single-host); set it only if one host, "
           "one server at a time, ever writes the volume.\n";
  }
  out += "verdict: " + DoctorVerdict(report.exit_code) + " (exit " +
         std::to_string(report.exit_code) + ")\n";
  return out;
}

std::string DoctorJson(const DoctorHeader& h, const ProbeReport& report) {
  return "{\"endpoint\":" + JsonString(h.endpoint) + ",\"bucket\":" + JsonString(h.bucket) +
         ",\"volume\":" + JsonString(h.volume) + ",\"area\":" + JsonString(report.area) +
         ",\"block_size\":" + std::to_string(report.block_size) +
         ",\"checks\":" + JsonRows(report.checks) + ",\"features\":" + JsonRows(report.features) +
         ",\"lease_trusted\":" + (LeaseTrusted(report) ? "true" : "false") +
         ",\"exit_code\":" + std::to_string(report.exit_code) +
         ",\"verdict\":" + JsonString(DoctorVerdict(report.exit_code)) + "}\n";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace s3nbd::cli
