// Server-Sent Events framing (the WHATWG text/event-stream format): bytes in, whole events
// out. Only what tail needs: id, event and data lines; comments (the keepalives) and retry
// are read and dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerctl {

struct SseEvent {
    std::string id;  // the last id: seen (it carries over to later events, as in a browser)
    std::string event;
    std::string data;  // several data: lines joined with '\n'
};

class SseReader {
  public:
    // Feeds the next bytes of the body; returns the events they complete (only those with data).
    std::vector<SseEvent> feed(std::string_view bytes);

  private:
    void take_line(std::string_view line, std::vector<SseEvent>& done);

    std::string partial_line_;
    std::string last_id_;
    std::string event_;
    std::optional<std::string> data_;
};

}  // namespace tickerctl
