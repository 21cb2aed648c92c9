// RunDevBroker: the line protocol of `sluice dev kafka` over a MockCluster.
#include <charconv>
#include <istream>
#include <ostream>
#include <sstream>

#include <fmt/ranges.h>

#include "sluice/connectors/kafka/kafka.h"

namespace sluice::kafka {
namespace {

constexpr std::string_view kCommands =
    "topic NAME PARTITIONS | down BROKER | up BROKER | rtt BROKER MS | errors API_NAME ERR_NAME [ERR_NAME...] | "
    "help | quit";

bool ParseInt(std::string_view s, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::vector<std::string> Split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(std::move(w));
  return words;
}

// One command, one answer line (without the newline).
std::string Run(MockCluster& cluster, const std::vector<std::string>& w) {
  auto answer = [](const Status& st, std::string ok) {
    return st.ok() ? "ok " + ok : "error: " + st.message();
  };
  auto broker_arg = [&](int& broker) {
    return w.size() == 2 && ParseInt(w[1], broker);
  };
  const std::string& cmd = w[0];
  if (cmd == "help") return fmt::format("ok commands: {}", kCommands);
  if (cmd == "topic") {
    int partitions = 0;
    if (w.size() != 3 || !ParseInt(w[2], partitions)) {
      return "error: usage: topic NAME PARTITIONS (for example: topic orders 4)";
    }
    return answer(cluster.CreateTopic(w[1], partitions),
                  fmt::format("topic {} created with {} partitions", w[1], partitions));
  }
  if (cmd == "down" || cmd == "up") {
    int broker = 0;
    if (!broker_arg(broker)) {
      return fmt::format("error: usage: {} BROKER (a broker id, 1..{})", cmd, cluster.brokers());
    }
    if (cmd == "down") {
      return answer(cluster.SetBrokerDown(broker),
                    fmt::format("broker {} is down (connections refused until `up {}`)", broker, broker));
    }
    return answer(cluster.SetBrokerUp(broker), fmt::format("broker {} is up", broker));
  }
  if (cmd == "rtt") {
    int broker = 0;
    int ms = 0;
    if (w.size() != 3 || !ParseInt(w[1], broker) || !ParseInt(w[2], ms)) {
      return fmt::format("error: usage: rtt BROKER MS (for example: rtt 1 200; rtt 1 0 removes it)");
    }
    return answer(cluster.SetBrokerRtt(broker, ms), fmt::format("broker {} answers after {} ms", broker, ms));
  }
  if (cmd == "errors") {
    if (w.size() < 3) {
      return "error: usage: errors API_NAME ERR_NAME [ERR_NAME...] (for example: errors Produce "
             "REQUEST_TIMED_OUT NOT_LEADER_FOR_PARTITION)";
    }
    auto api = ApiKeyByName(w[1]);
    if (!api.ok()) return "error: " + api.status().message();
    std::vector<int> codes;
    for (size_t i = 2; i < w.size(); ++i) {
      auto code = ErrorCodeByName(w[i]);
      if (!code.ok()) return "error: " + code.status().message();
      codes.push_back(*code);
    }
    return answer(cluster.PushRequestErrors(*api, codes),
                  fmt::format("the next {} {} request(s) fail with {}", codes.size(), w[1],
                              fmt::join(w.begin() + 2, w.end(), ", ")));
  }
  return fmt::format("error: unknown command '{}' (commands: {})", cmd, kCommands);
}

}  // namespace

Status RunDevBroker(int brokers, const std::vector<std::pair<std::string, int>>& topics, std::istream& commands,
                    std::ostream& out) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<MockCluster> cluster, MockCluster::Start(brokers));
  for (const auto& [name, partitions] : topics) {
    SLUICE_RETURN_IF_ERROR(cluster->CreateTopic(name, partitions));
  }
  out << "bootstrap.servers=" << cluster->bootstrap_servers() << "\n";
  out << "note: this is an in-memory development broker, not a Kafka server: its data is lost when it stops, "
         "it keeps only about 5 MiB per partition, and it has no transactions or read_committed isolation. "
         "Do not point production pipelines at it.\n";
  std::string listed;
  for (const auto& [name, partitions] : topics) {
    listed += fmt::format("{}{} ({} partitions)", listed.empty() ? "" : ", ", name, partitions);
  }
  out << fmt::format("ready: {} broker(s), topics: {}; type help for commands, quit or end of input stops it\n",
                     brokers, listed.empty() ? "none" : listed)
      << std::flush;
  for (std::string line; std::getline(commands, line);) {
    std::vector<std::string> words = Split(line);
    if (words.empty() || words[0][0] == '#') continue;
    if (words[0] == "quit" || words[0] == "exit") {
      out << "ok stopping; the data is gone" << std::endl;
      break;
    }
    out << Run(*cluster, words) << std::endl;
  }
  return Status::OK();
}

}  // namespace sluice::kafka
