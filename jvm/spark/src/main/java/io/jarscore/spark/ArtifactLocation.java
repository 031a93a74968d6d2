package io.jarscore.spark;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;

import io.jarscore.registry.Artifact;
import io.jarscore.runtime.ArtifactException;

/**
 * Where the stage finds its artifact in the JVM it runs in (the driver or an executor): a directory
 * every executor can read (a shared mount, a {@code file:} URI), or {@code spark-files://NAME}, a
 * directory shipped with the job by {@code SparkContext.addFile(dir, true)} or unpacked from
 * {@code --archives model.zip#NAME}, which each JVM finds under its {@link SparkFiles} root.
 */
public final class ArtifactLocation {

    /** The prefix of an artifact shipped with the job: {@code spark-files://NAME}. */
    public static final String SPARK_FILES = "spark-files://";
    private static final Pattern URI_SCHEME = Pattern.compile("^([a-zA-Z][a-zA-Z0-9+.-]*)://.*");

    private ArtifactLocation() {
    }

    /** The artifact's directory in this JVM, or an {@link ArtifactException} saying where it looked and what to do. */
    public static Path resolve(String artifact) {
        if (artifact == null || artifact.isBlank()) {
            throw new ArtifactException("no artifact is set: setArtifact(path) with an artifact directory written by"
                + " 'jarscore convert', or spark-files://NAME for one shipped with SparkContext.addFile(dir, true)");
        }
        Path dir;
        if (artifact.startsWith(SPARK_FILES)) {
            dir = shipped(artifact, artifact.substring(SPARK_FILES.length()));
        } else if (artifact.startsWith("file:")) {
            dir = Path.of(URI.create(artifact));
        } else {
            var scheme = URI_SCHEME.matcher(artifact);
            if (scheme.matches()) {
                throw new ArtifactException("artifact " + artifact + ": a " + scheme.group(1) + ":// URI is not a"
                    + " directory this JVM can read; ship it with sparkContext.addFile(\"" + artifact + "\", true) and set"
                    + " the artifact to " + SPARK_FILES + "NAME (NAME: its last path component), or use a path every"
                    + " executor reads");
            }
            dir = Path.of(artifact);
        }
        dir = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new ArtifactException("artifact directory not found on " + host() + ": " + dir + " (a path must be"
                + " readable on the driver and on every executor; otherwise ship the artifact with"
                + " sparkContext.addFile(dir, true) and set the artifact to " + SPARK_FILES + "NAME)");
        }
        return dir;
    }

    private static Path shipped(String artifact, String name) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..")) {
            throw new ArtifactException("artifact " + artifact + ": expected " + SPARK_FILES + "NAME, where NAME is"
                + " the last path component of the directory given to sparkContext.addFile(dir, true)");
        }
        if (SparkEnv.get() == null) {
            throw new ArtifactException("artifact " + artifact + ": no SparkContext runs in this JVM, so there are no"
                + " files shipped with a job to look in; start one first, or give a directory path");
        }
        Path dir = Path.of(SparkFiles.get(name));
        if (!Files.isDirectory(dir)) {
            throw new ArtifactException("artifact " + artifact + " was not shipped to " + host() + ": no folder '" + name
                + "' in " + SparkFiles.getRootDirectory() + "; call sparkContext.addFile(\"/path/to/" + name
                + "\", true) before the job (or spark-submit --archives model.zip#" + name + ")");
        }
        return archiveRoot(dir);
    }

    /**
     * An archive unpacked from {@code --archives model.zip#NAME} holds the artifact's files, or one
     * folder holding them (a zip of the folder itself): the artifact is whichever has the manifest.
     */
    private static Path archiveRoot(Path dir) {
        if (Files.isRegularFile(dir.resolve(Artifact.MANIFEST))) {
            return dir;
        }
        try (Stream<Path> children = Files.list(dir)) {
            List<Path> folders = children.filter(Files::isDirectory).toList();
            if (folders.size() == 1 && Files.isRegularFile(folders.get(0).resolve(Artifact.MANIFEST))) {
                return folders.get(0);
            }
        } catch (IOException e) {
            throw new ArtifactException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    /**
     * Ships the artifact directory {@code dir} (a local path or a Hadoop file system URI) with the jobs of
     * {@code sc}: each executor, and the driver, gets a copy in its {@link SparkFiles} folder. Returns
     * what to set as the artifact, {@code spark-files://NAME}, NAME being the directory's last component.
     */
    public static String ship(SparkContext sc, String dir) {
        String trimmed = dir.replaceAll("[/\\\\]+$", "");
        String name = trimmed.substring(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1);
        if (name.isEmpty()) {
            throw new ArtifactException("cannot ship '" + dir + "': give the artifact's directory");
        }
        sc.addFile(dir, true);
        return SPARK_FILES + name;
    }

    static String host() {
        try {
            return "host " + InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "this host";
        }
    }
}
