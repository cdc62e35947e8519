#include "core/job.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

using sluice::core::Calibration;
using sluice::core::CalibrationTable;
using sluice::core::JobConfig;
using sluice::core::load_calibration;

namespace {

// A temporary directory holding files made with mkstemp; everything is removed on destruction.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                            "/sluice-test-job-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        m_path = buf.data();
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        for (const auto& f : m_files) ::unlink(f.c_str());
        ::rmdir(m_path.c_str());
    }

    // Writes `content` to a new file and returns its path.
    std::string write(const std::string& content) {
        std::string templ = m_path + "/calibration-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        const int fd = ::mkstemp(buf.data());
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        m_files.emplace_back(buf.data());
        std::size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
            if (n <= 0) {
                ::close(fd);
                throw std::runtime_error("write failed");
            }
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
        return m_files.back();
    }

    const std::string& path() const { return m_path; }

private:
    std::string m_path;
    std::vector<std::string> m_files;
};

// The message of the runtime_error load_calibration throws, or "" if it does not throw.
std::string error_of(const std::string& path) {
    try {
        (void)load_calibration(path);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("load_calibration reads sensorId, offset and scale", "[job]") {
    TempDir dir;
    const auto table = load_calibration(dir.write("sensorId,offset,scale\nA,1.5,2\nB,-3,0.5\n"));
    REQUIRE(table.size() == 2);
    CHECK(table.at("A").offset == 1.5);
    CHECK(table.at("A").scale == 2.0);
    CHECK(table.at("B").offset == -3.0);
    CHECK(table.at("B").scale == 0.5);
}

TEST_CASE("load_calibration accepts the header columns in any order", "[job]") {
    TempDir dir;
    const auto table = load_calibration(dir.write("scale,sensorId,offset\n2,A,1.5\n-4,B,0\n"));
    REQUIRE(table.size() == 2);
    CHECK(table.at("A").offset == 1.5);
    CHECK(table.at("A").scale == 2.0);
    CHECK(table.at("B").offset == 0.0);
    CHECK(table.at("B").scale == -4.0);
}

TEST_CASE("load_calibration ignores extra columns", "[job]") {
    TempDir dir;
    const auto table = load_calibration(
        dir.write("note,sensorId,x,offset,scale,y\nhello,A,9,1.5,2,z\n,B,,3,4,\n"));
    REQUIRE(table.size() == 2);
    CHECK(table.at("A").offset == 1.5);
    CHECK(table.at("A").scale == 2.0);
    CHECK(table.at("B").offset == 3.0);
    CHECK(table.at("B").scale == 4.0);
}

TEST_CASE("load_calibration skips a UTF-8 BOM before the header", "[job]") {
    TempDir dir;
    const auto table = load_calibration(dir.write("\xEF\xBB\xBFsensorId,offset,scale\nA,1,2\n"));
    REQUIRE(table.size() == 1);
    CHECK(table.at("A").scale == 2.0);
}

TEST_CASE("load_calibration unquotes quoted ids and header names", "[job]") {
    TempDir dir;
    const auto table = load_calibration(
        dir.write("\"sensorId\",\"offset\",\"scale\"\n\"A 1\",1,2\n\"B\",\"3\",\"4\"\n"));
    REQUIRE(table.size() == 2);
    CHECK(table.at("A 1").offset == 1.0);
    CHECK(table.at("B").offset == 3.0);
    CHECK(table.at("B").scale == 4.0);
}

TEST_CASE("load_calibration accepts CRLF line ends, spaces around fields and blank lines",
          "[job]") {
    TempDir dir;
    const auto table = load_calibration(
        dir.write("sensorId, offset ,scale\r\n\r\n A , 1e-3 , 2.5 \r\n\n\t\nB,-0.5,1E2\r\n"));
    REQUIRE(table.size() == 2);
    CHECK(table.at("A").offset == 1e-3);
    CHECK(table.at("A").scale == 2.5);
    CHECK(table.at("B").offset == -0.5);
    CHECK(table.at("B").scale == 100.0);
}

TEST_CASE("a header-only or last-line-without-newline file loads", "[job]") {
    TempDir dir;
    CHECK(load_calibration(dir.write("sensorId,offset,scale\n")).empty());
    const auto table = load_calibration(dir.write("sensorId,offset,scale\nA,1,2"));
    CHECK(table.at("A").scale == 2.0);
}

TEST_CASE("scale 0 is an error naming the file and line", "[job]") {
    TempDir dir;
    const std::string path = dir.write("sensorId,offset,scale\nA,1,2\nB,1,0\n");
    const std::string e = error_of(path);
    CHECK(contains(e, path));
    CHECK(contains(e, "line 3"));
    CHECK(contains(e, "scale is 0"));
    CHECK(contains(e, "'B'"));
    CHECK(contains(error_of(dir.write("sensorId,offset,scale\nA,1,-0.0\n")), "line 2"));
}

TEST_CASE("a non-number offset or scale is an error naming the file and line", "[job]") {
    TempDir dir;
    for (const std::string bad : {"abc", "", "1.5x", "nan", "inf", "-inf", "1e999", "0x10"}) {
        INFO("offset '" << bad << "'");
        const std::string path = dir.write("sensorId,offset,scale\nA,1,2\n\nB," + bad + ",1\n");
        const std::string e = error_of(path);
        CHECK(contains(e, path));
        CHECK(contains(e, "line 4"));
        CHECK(contains(e, "offset is not a finite number"));
    }
    const std::string path = dir.write("sensorId,offset,scale\nA,1,two\n");
    const std::string e = error_of(path);
    CHECK(contains(e, path));
    CHECK(contains(e, "line 2"));
    CHECK(contains(e, "scale is not a finite number"));
}

TEST_CASE("a duplicate sensor is an error naming the file and the line of the repeat", "[job]") {
    TempDir dir;
    const std::string path = dir.write("sensorId,offset,scale\nA,1,2\nB,1,2\nA,3,4\n");
    const std::string e = error_of(path);
    CHECK(contains(e, path));
    CHECK(contains(e, "line 4"));
    CHECK(contains(e, "'A' is listed twice"));
    // Quoting does not make a different id.
    CHECK(contains(error_of(dir.write("sensorId,offset,scale\nA,1,2\n\"A\",3,4\n")), "line 3"));
}

TEST_CASE("a header without sensorId, offset or scale is an error naming line 1", "[job]") {
    TempDir dir;
    for (const std::string header : {"sensorId,offset", "sensorId,scale", "offset,scale",
                                     "sensorid,offset,scale", "sensorId;offset;scale", "A,1,2"}) {
        INFO("header '" << header << "'");
        const std::string path = dir.write(header + "\nA,1,2\n");
        const std::string e = error_of(path);
        CHECK(contains(e, path));
        CHECK(contains(e, "line 1"));
    }
    const std::string empty = dir.write("");
    const std::string e = error_of(empty);
    CHECK(contains(e, empty));
    CHECK(contains(e, "line 1"));
}

TEST_CASE("a line with too few fields or an empty id is an error naming the line", "[job]") {
    TempDir dir;
    const std::string path = dir.write("note,sensorId,offset,scale\nx,A,1,2\nx,B,1\n");
    const std::string e = error_of(path);
    CHECK(contains(e, path));
    CHECK(contains(e, "line 3"));
    const std::string empty_id = dir.write("sensorId,offset,scale\n,1,2\n");
    CHECK(contains(error_of(empty_id), "line 2"));
    CHECK(contains(error_of(empty_id), "sensorId is empty"));
}

TEST_CASE("an unreadable calibration file is an error naming the file", "[job]") {
    TempDir dir;
    const std::string missing = dir.path() + "/does-not-exist.csv";
    const std::string e = error_of(missing);
    CHECK(contains(e, missing));
    CHECK(contains(e, "cannot open"));
    // A directory opens but cannot be read: still an error naming it.
    const std::string d = error_of(dir.path());
    CHECK(contains(d, dir.path()));
}

TEST_CASE("calibration_for returns the listed entry or the defaults 20 and 60", "[job]") {
    JobConfig config;
    config.calibration["A"] = Calibration{1.0, 2.0};
    CHECK(config.calibration_for("A").offset == 1.0);
    CHECK(config.calibration_for("A").scale == 2.0);
    CHECK(config.calibration_for("B").offset == 20.0);
    CHECK(config.calibration_for("B").scale == 60.0);
    CHECK(config.calibration_for("").offset == 20.0);
    CHECK(config.window == 50);
    CHECK(config.heavy == 0);
}
