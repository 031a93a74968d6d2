package io.jarscore.bench.serve;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.HdrHistogram.Histogram;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.Models;
import io.jarscore.ScoringModel;
import io.jarscore.runtime.FieldSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The in-process call the servers' single-row round trip is compared with: the artifact loaded with
 * {@link Models#load} and {@link ScoringModel#score(double[])} called on one row at a time, the same
 * held-out rows the servers get, timed one call at a time into an HdrHistogram (nanoseconds).
 */
@Command(name = "in-process", mixinStandardHelpOptions = true, description = "time single-row calls in this JVM")
final class InProcess implements Callable<Integer> {

    @Option(names = "--artifact", required = true)
    Path artifact;

    @Option(names = "--rows", required = true)
    Path rows;

    @Option(names = "--warmup-seconds", defaultValue = "3")
    double warmup;

    @Option(names = "--seconds", defaultValue = "8")
    double seconds;

    @Option(names = "--out", required = true)
    Path out;

    @Override
    public Integer call() throws Exception {
        Requests requests = Requests.read(rows);
        List<String> header = Arrays.asList(requests.header());
        try (ScoringModel model = Models.load(artifact)) {
            List<FieldSpec> inputs = model.inputs();
            double[][] ordered = new double[requests.rows().length][inputs.size()];
            for (int r = 0; r < ordered.length; r++) {
                for (int c = 0; c < inputs.size(); c++) {
                    ordered[r][c] = requests.rows()[r][header.indexOf(inputs.get(c).name())];
                }
            }
            long sink = 0;
            Histogram nanos = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            long warmUntil = System.nanoTime() + (long) (warmup * 1e9);
            long until = warmUntil + (long) (seconds * 1e9);
            for (int i = 0; ; i++) {
                long start = System.nanoTime();
                if (start >= until) {
                    break;
                }
                sink += model.score(ordered[i % ordered.length]).size();
                if (start >= warmUntil) {
                    nanos.recordValue(System.nanoTime() - start);
                }
            }
            Map<String, Object> figures = new java.util.LinkedHashMap<>();
            figures.put("calls", nanos.getTotalCount());
            figures.put("p50_us", nanos.getValueAtPercentile(50) / 1e3);
            figures.put("p99_us", nanos.getValueAtPercentile(99) / 1e3);
            figures.put("mean_us", nanos.getMean() / 1e3);
            figures.put("kernel", model.kernelStatus());
            figures.put("outputs_read", sink); // used, so that the JIT keeps the calls
            figures.put("how", "Models.load(artifact).score(double[]), one row a call, 1 thread");
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.toFile(), figures);
        }
        return 0;
    }
}
