// `sockchaos doctor`: can this machine run scenarios? Each check says what it tried and,
// when it fails, what to do.
#pragma once
#include <string>
#include <vector>

namespace sockchaos::harness {

struct DoctorCheck {
  std::string name;
  bool ok = false;
  bool essential = true;
  std::string detail;  // what was found
  std::string fix;     // what to do when !ok
};

std::vector<DoctorCheck> run_doctor(const std::string& agent_path);
// One-line advice for the first failed essential check, for exit-3 messages elsewhere.
std::string doctor_advice(const std::vector<DoctorCheck>& checks);

}  // namespace sockchaos::harness
