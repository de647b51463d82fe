// Writes finished cells' packet captures to pcap files on a thread of its own, so a cell's
// thread goes on to the next cell instead of creating folders and files (RunOptions::pcap_writer).
// The results name each file as soon as it is queued; finish() waits for every write and says
// which ones failed, and the session then records the error in place of the file name.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "netns/capture.hpp"

namespace sockchaos::harness {

class PcapWriter {
 public:
  // Queued packets beyond `max_pending_bytes` make submit() wait for the writer (bounded memory
  // when many cells finish at once).
  explicit PcapWriter(size_t max_pending_bytes = size_t{16} << 20);
  ~PcapWriter();  // finish()
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  struct File {
    size_t host = 0;       // index into the hosts
    std::string path;      // where to write it (its folder is created)
    std::string relative;  // its name in the results, the key of finish()'s failures
  };
  // A stopped capture's hosts (CaptureSet::take_hosts: only their packets, not the set's
  // sockets and buffers) and the files to write from them; freed once written.
  void submit(std::vector<netns::HostCapture> hosts, std::vector<File> files);

  // Waits until every queued file is written and stops the thread; relative name -> error of each
  // write that failed. Later submits start the thread again.
  std::map<std::string, std::string> finish();

 private:
  struct Job {
    std::vector<netns::HostCapture> hosts;
    std::vector<File> files;
    size_t bytes = 0;
  };
  void run();

  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t pending_bytes_ = 0;
  bool stopping_ = false;
  std::map<std::string, std::string> failures_;
  std::thread thread_;
};

}  // namespace sockchaos::harness
