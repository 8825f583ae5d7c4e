#include "sse.hpp"

namespace tickerctl {

std::vector<SseEvent> SseReader::feed(std::string_view bytes) {
    std::vector<SseEvent> done;
    partial_line_.append(bytes);
    std::size_t start = 0;
    while (true) {
        auto end = partial_line_.find('\n', start);
        if (end == std::string::npos) break;
        std::string_view line(partial_line_.data() + start, end - start);
        if (line.ends_with('\r')) line.remove_suffix(1);
        take_line(line, done);
        start = end + 1;
    }
    partial_line_.erase(0, start);
    return done;
}

void SseReader::take_line(std::string_view line, std::vector<SseEvent>& done) {
    if (line.empty()) {  // a blank line dispatches the event
        if (data_) done.push_back({last_id_, event_, std::move(*data_)});
        data_.reset();
        event_.clear();
        return;
    }
    if (line.front() == ':') return;  // a comment: the daemon's keepalive
    auto colon = line.find(':');
    auto field = line.substr(0, colon);
    auto value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "data") {
        if (data_) {
            *data_ += '\n';
            data_->append(value);
        } else {
            data_ = std::string(value);
        }
    } else if (field == "id") {
        last_id_ = value;
    } else if (field == "event") {
        event_ = value;
    }
}

}  // namespace tickerctl
