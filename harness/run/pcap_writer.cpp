#include "harness/run/pcap_writer.hpp"

#include <pthread.h>

#include <filesystem>

namespace sockchaos::harness {

PcapWriter::PcapWriter(size_t max_pending_bytes) : max_pending_(max_pending_bytes) {}

PcapWriter::~PcapWriter() { finish(); }

void PcapWriter::submit(std::vector<netns::HostCapture> hosts, std::vector<File> files) {
  Job job{std::move(hosts), std::move(files), sizeof(Job)};
  for (const auto& h : job.hosts)
    for (const auto& p : h.packets()) job.bytes += p.bytes.size() + p.ifname.capacity() + netns::kPacketOverheadBytes;
  std::unique_lock lock(mu_);
  // Past the bound, wait for the writer to catch up (a job alone is always taken).
  cv_.wait(lock, [&] { return queue_.empty() || pending_bytes_ + job.bytes <= max_pending_; });
  pending_bytes_ += job.bytes;
  queue_.push_back(std::move(job));
  if (!thread_.joinable()) {
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
    ::pthread_setname_np(thread_.native_handle(), "sc-pcapwrite");
  }
  cv_.notify_all();
}

void PcapWriter::run() {
  namespace fs = std::filesystem;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::vector<std::pair<std::string, std::string>> failed;
    for (const File& f : job.files) {
      std::error_code ec;
      fs::create_directories(fs::path(f.path).parent_path(), ec);
      if (f.host >= job.hosts.size()) {
        failed.emplace_back(f.relative, "no such host in the capture");
        continue;
      }
      if (auto st = job.hosts[f.host].write_pcap(f.path); !st.ok()) failed.emplace_back(f.relative, st.error().str());
    }
    std::vector<netns::HostCapture>().swap(job.hosts);  // freed before the lock is taken again
    lock.lock();
    for (auto& [relative, error] : failed) failures_[relative] = std::move(error);
    pending_bytes_ -= job.bytes;
    cv_.notify_all();
  }
}

std::map<std::string, std::string> PcapWriter::finish() {
  std::thread t;
  {
    std::lock_guard g(mu_);
    stopping_ = true;
    cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  std::lock_guard g(mu_);
  stopping_ = false;
  return std::exchange(failures_, {});
}

}  // namespace sockchaos::harness
