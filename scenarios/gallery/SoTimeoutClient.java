// SoTimeoutClient: what JMeter's HTTP samplers do (article 004): a blocking java.net.Socket
// with Socket.setSoTimeout(ms) on every read. Run from source (java SoTimeoutClient.java ...,
// JEP 330), standard library only.
//
//   java SoTimeoutClient.java HOST PORT SO_TIMEOUT_MS
//
// Sends one HTTP request every 100 ms on one connection (at most 600) and reads each response.
// SO_TIMEOUT_MS 0 = no timeout (the JDK default: a read blocks until the kernel gives up).
// Exit status: 3 SocketTimeoutException after at least one response, 4 timeout before any,
// 5 another IOException (e.g. "Connection timed out": the kernel gave up), 0 all requests
// answered. The failing request's time, from its write to the exception, is printed.
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

public class SoTimeoutClient {
  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    int timeoutMs = Integer.parseInt(args[2]);
    byte[] request = ("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] buffer = new byte[4096];
    int answered = 0;
    long sent = 0;
    try (Socket socket = new Socket(host, port)) {
      socket.setSoTimeout(timeoutMs);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      for (int i = 0; i < 600; i++) {
        sent = System.nanoTime();
        out.write(request);
        out.flush();
        long start = System.nanoTime();
        try {
          if (in.read(buffer) < 0) {
            System.out.println("EOF after " + answered + " responses");
            System.exit(5);
          }
        } catch (SocketTimeoutException e) {
          System.out.printf("SocketTimeoutException after %.1f ms (%d responses before)%n",
                            (System.nanoTime() - start) / 1e6, answered);
          System.exit(answered > 0 ? 3 : 4);
        }
        answered++;
        Thread.sleep(100);
      }
    } catch (java.io.IOException e) {
      System.out.printf("%s %.1f ms after the request (%d responses before)%n", e, (System.nanoTime() - sent) / 1e6,
                        answered);
      System.exit(5);
    }
    System.out.println(answered + " responses");
  }
}
