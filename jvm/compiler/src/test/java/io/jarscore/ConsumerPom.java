package io.jarscore;

/**
 * The pom of a service that depends on jarscore-runtime and nothing else. Its plugins are pinned to
 * the versions the surrounding build uses (system properties set by the parent pom), which are in
 * the local repository already, so the project builds offline.
 */
final class ConsumerPom {

    private ConsumerPom() {
    }

    static String text(String jarscoreVersion) {
        StringBuilder plugins = new StringBuilder();
        for (String plugin : new String[]{"clean", "resources", "compiler", "surefire", "jar", "install", "dependency"}) {
            plugins.append("      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-").append(plugin)
                .append("-plugin</artifactId><version>").append(System.getProperty("jarscore.plugin." + plugin))
                .append("</version></plugin>\n");
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>example</groupId>
              <artifactId>iris-service</artifactId>
              <version>1</version>
              <properties>
                <maven.compiler.release>17</maven.compiler.release>
                <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
              </properties>
              <dependencies>
                <dependency>
                  <groupId>io.jarscore</groupId>
                  <artifactId>jarscore-runtime</artifactId>
                  <version>%s</version>
                </dependency>
              </dependencies>
              <build>
                <pluginManagement>
                  <plugins>
            %s      </plugins>
                </pluginManagement>
              </build>
            </project>
            """.formatted(jarscoreVersion, plugins);
    }
}
