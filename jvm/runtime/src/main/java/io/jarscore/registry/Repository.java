package io.jarscore.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A model repository on disk: {@code ROOT/<name>/<version>/} with {@code manifest.json},
 * {@code model.jar} and {@code model.pmml.gz} ({@code model.pmml} in format 1). Names starting with '.' (the converter's staging
 * directories) and version directories that are not positive integers are ignored.
 */
public final class Repository {

    private final Path root;

    public Repository(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    public Path directory(String name, int version) {
        return root.resolve(name).resolve(Integer.toString(version));
    }

    /** The model names: every visible directory under the root. */
    public List<String> modelNames() {
        List<String> names = new ArrayList<>();
        for (Path dir : list(root)) {
            names.add(dir.getFileName().toString());
        }
        names.sort(null);
        return names;
    }

    /** The model's version directories by number, complete or not. */
    public SortedMap<Integer, Path> versionDirectories(String name) {
        SortedMap<Integer, Path> versions = new TreeMap<>();
        Path modelDir = root.resolve(name);
        if (!Files.isDirectory(modelDir)) {
            return versions;
        }
        for (Path dir : list(modelDir)) {
            Integer version = versionNumber(dir.getFileName().toString());
            if (version != null) {
                versions.put(version, dir);
            }
        }
        return versions;
    }

    /** The version a directory name stands for: a positive integer; null for anything else. */
    public static Integer versionNumber(String directoryName) {
        if (directoryName.isEmpty() || directoryName.length() > 9 || !directoryName.chars().allMatch(Character::isDigit)) {
            return null;
        }
        int version = Integer.parseInt(directoryName);
        return version > 0 ? version : null;
    }

    private static List<Path> list(Path dir) {
        List<Path> dirs = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return dirs;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path child : stream) {
                if (!child.getFileName().toString().startsWith(".") && Files.isDirectory(child)) {
                    dirs.add(child);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return dirs;
    }
}
