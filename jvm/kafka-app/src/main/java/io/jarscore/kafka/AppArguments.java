package io.jarscore.kafka;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The app's command line: {@code [--config FILE] [--help]}. A lone path stands for
 * {@code --config PATH}. No file at all is valid: every setting can come from the environment.
 */
record AppArguments(Path config, boolean help) {

    static final String USAGE = String.join(System.lineSeparator(),
        "usage: java -jar jarscore-kafka-app.jar [--config FILE]",
        "  --config FILE  the app's settings, a properties file (see kafka-app.example.properties)",
        "  --help         print this and exit",
        "Every setting can also come from the environment, which wins over the file: JARSCORE_ + the key",
        "without 'jarscore.', upper case, dots as underscores (JARSCORE_BOOTSTRAP_SERVERS, JARSCORE_MODEL_ROOT).");

    /** A command line the app cannot run with; its message fits on one line. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** Help wins over everything else on the line, so that it answers whatever the rest says. */
    static AppArguments parse(String... args) throws UsageException {
        if (Arrays.stream(args).anyMatch(a -> a.equals("--help") || a.equals("-h"))) {
            return new AppArguments(null, true);
        }
        Path config = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String file;
            if (arg.equals("--config")) {
                if (i + 1 >= args.length || args[i + 1].isBlank()) {
                    throw new UsageException("option --config needs a file");
                }
                file = args[++i];
            } else if (arg.startsWith("--config=")) {
                file = arg.substring("--config=".length());
            } else if (arg.startsWith("-")) {
                throw new UsageException("unknown option " + arg);
            } else {
                file = arg;
            }
            if (config != null) {
                throw new UsageException("more than one config file: " + config + " and " + file);
            }
            config = Path.of(file);
        }
        if (config != null && !Files.isRegularFile(config)) {
            throw new UsageException("config file not found: " + config);
        }
        return new AppArguments(config, false);
    }
}
