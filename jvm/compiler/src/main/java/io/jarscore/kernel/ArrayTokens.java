package io.jarscore.kernel;

import java.util.ArrayList;
import java.util.List;

/** The values of a PMML Array: separated by white space, double-quoted when they hold spaces. */
final class ArrayTokens {

    private ArrayTokens() {
    }

    static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '"') {
                StringBuilder token = new StringBuilder();
                i++;
                while (i < n && text.charAt(i) != '"') {
                    if (text.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    token.append(text.charAt(i++));
                }
                i++;
                out.add(token.toString());
            } else {
                int start = i;
                while (i < n && !Character.isWhitespace(text.charAt(i))) {
                    i++;
                }
                out.add(text.substring(start, i));
            }
        }
        return out;
    }
}
