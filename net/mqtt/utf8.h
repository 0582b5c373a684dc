// The MQTT rule for UTF-8 Encoded Strings (MQTT 3.1.1 1.5.3, MQTT 5.0 1.5.4).
//
// A string is acceptable when it is well-formed UTF-8 (RFC 3629: no overlong forms, no
// UTF-16 surrogates U+D800..U+DFFF, nothing above U+10FFFF) and contains no U+0000.
// Control characters and non-characters are allowed: the specs say a receiver MAY reject
// them, and device fleets do send them. Pure function, no allocation, any thread.
#pragma once

#include <string_view>

namespace sb::mqtt {

bool IsValidMqttUtf8(std::string_view text);

}  // namespace sb::mqtt
