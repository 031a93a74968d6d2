package io.jarscore.registry;

import java.nio.file.Path;

/**
 * A model version that could not be served: incomplete or corrupt on disk, failing to load, or
 * refused by a validator. The message names the model, the version and the directory.
 */
public class VersionLoadException extends RuntimeException {

    private final String model;
    private final int version;
    private final Path directory;

    public VersionLoadException(String model, int version, Path directory, String problem, Throwable cause) {
        super("model '" + model + "' version " + version + " (" + directory + "): " + problem, cause);
        this.model = model;
        this.version = version;
        this.directory = directory;
    }

    public String model() {
        return model;
    }

    public int version() {
        return version;
    }

    public Path directory() {
        return directory;
    }
}
