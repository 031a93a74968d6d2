package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTreeTest {

    private static Object parse(String json) throws IOException {
        return JsonTree.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsEveryKindOfValueInDocumentOrder() throws IOException {
        Object tree = parse("{\"format\": 2, \"big\": 12345678901, \"huge\": 123456789012345678901234567890,"
            + " \"x\": -1.5e3, \"ok\": true, \"no\": false, \"none\": null, \"name\": \"caf\\u00e9\","
            + " \"list\": [1, [\"a\"], {}], \"z\": 0}");
        Map<?, ?> map = (Map<?, ?>) tree;
        assertEquals(List.of("format", "big", "huge", "x", "ok", "no", "none", "name", "list", "z"), List.copyOf(map.keySet()));
        assertEquals(2, map.get("format"));
        assertEquals(12345678901L, map.get("big"));
        assertEquals(new BigInteger("123456789012345678901234567890"), map.get("huge"));
        assertEquals(-1500.0, map.get("x"));
        assertEquals(true, map.get("ok"));
        assertEquals(false, map.get("no"));
        assertTrue(map.containsKey("none") && map.get("none") == null);
        assertEquals("café", map.get("name"));
        assertEquals(Arrays.asList(1, List.of("a"), Map.of()), map.get("list"));
    }

    @Test
    void aStreamIsReadLikeBytes() throws IOException {
        assertEquals(List.of("a", 1), JsonTree.parse(new ByteArrayInputStream("[\"a\", 1]".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void aBrokenOrTrailingDocumentIsAnError() {
        for (String bad : new String[]{"", "   ", "{\"a\": 1", "[1, 2", "{\"a\": 1} {}", "[1] x", "{\"a\": }"}) {
            assertThrows(IOException.class, () -> parse(bad), "'" + bad + "'");
        }
    }
}
