package dev.ferry.examples.kvstore;

import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;
import dev.ferry.server.CallContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The key-value store service, in memory: implements the generated {@link KvStoreFerryService}.
 * Shows error statuses (INVALID_ARGUMENT, NOT_FOUND), reading request metadata and sending trailers,
 * a server stream (Watch) and a client stream (Load).
 */
public final class InMemoryKvStore implements KvStoreFerryService {
  /** Longest key accepted. */
  public static final int MAX_KEY_LENGTH = 256;
  /** Largest value accepted. */
  public static final int MAX_VALUE_SIZE = 1024 * 1024;

  /** Changes a watcher may fall behind by before its watch is ended. */
  public static final int MAX_WATCH_BACKLOG = 1024;

  private final NavigableMap<String, ByteString> entries = new ConcurrentSkipListMap<>();
  private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();

  // [kvstore-errors]
  private static String checkKey(String key) {
    if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      throw new FerryException(StatusCode.INVALID_ARGUMENT,
          "key must be 1 to " + MAX_KEY_LENGTH + " characters, got " + key.length());
    }
    return key;
  }

  @Override
  public GetResponse get(GetRequest request, CallContext context) {
    ByteString value = entries.get(checkKey(request.getKey()));
    if (value == null) {
      throw new FerryException(StatusCode.NOT_FOUND, "no such key: " + request.getKey());
    }
    return GetResponse.newBuilder().setValue(value).build();
  }
  // [kvstore-errors]

  @Override
  public PutResponse put(PutRequest request, CallContext context) {
    String key = checkKey(request.getKey());
    if (request.getValue().size() > MAX_VALUE_SIZE) {
      throw new FerryException(StatusCode.INVALID_ARGUMENT,
          "value of " + request.getValue().size() + " bytes is over the limit of " + MAX_VALUE_SIZE);
    }
    boolean replaced = entries.put(key, request.getValue()) != null;
    changed(Change.newBuilder().setKey(key).setValue(request.getValue()).build());
    // Trailing metadata travels back with the response; request metadata came with the call.
    context.addTrailer("x-store-size", Integer.toString(entries.size()));
    String client = context.metadata().get("x-client");
    if (client != null) {
      context.addTrailer("x-written-for", client);
    }
    return PutResponse.newBuilder().setReplaced(replaced).build();
  }

  @Override
  public DeleteResponse delete(DeleteRequest request, CallContext context) {
    if (entries.remove(checkKey(request.getKey())) == null) {
      throw new FerryException(StatusCode.NOT_FOUND, "no such key: " + request.getKey());
    }
    changed(Change.newBuilder().setKey(request.getKey()).setDeleted(true).build());
    return DeleteResponse.getDefaultInstance();
  }

  @Override
  public ListResponse list(ListRequest request, CallContext context) {
    int pageSize = request.getPageSize() == 0 ? 100 : request.getPageSize();
    if (pageSize < 1 || pageSize > 1000) {
      throw new FerryException(StatusCode.INVALID_ARGUMENT, "page_size must be 0 to 1000, got " + pageSize);
    }
    String after = decodeToken(request.getPageToken());
    NavigableMap<String, ByteString> rest = after == null
        ? entries.tailMap(request.getPrefix(), true) : entries.tailMap(after, false);
    ListResponse.Builder page = ListResponse.newBuilder();
    for (Map.Entry<String, ByteString> e : rest.entrySet()) {
      if (!e.getKey().startsWith(request.getPrefix())) {
        break;
      }
      if (page.getEntriesCount() == pageSize) {
        page.setNextPageToken(encodeToken(page.getEntries(pageSize - 1).getKey()));
        break;
      }
      page.addEntries(Entry.newBuilder().setKey(e.getKey()).setValue(e.getValue()));
    }
    return page.build();
  }

  // [kvstore-watch]
  @Override
  public void watch(WatchRequest request, StreamWriter<Change> changes, CallContext context)
      throws InterruptedException {
    Watcher watcher = new Watcher(request.getPrefix());
    context.onCancel(watcher::end); // the client went away: wake the loop below
    watchers.add(watcher); // before the snapshot, so that no change falls between the two
    try {
      for (Map.Entry<String, ByteString> e : entries.tailMap(request.getPrefix(), true).entrySet()) {
        if (!e.getKey().startsWith(request.getPrefix())) {
          break;
        }
        changes.write(Change.newBuilder().setKey(e.getKey()).setValue(e.getValue()).build());
      }
      for (Change change; (change = watcher.backlog.take()) != Watcher.END; ) {
        changes.write(change); // waits while the client has not read what it was sent
      }
      if (watcher.fellBehind) {
        throw new FerryException(StatusCode.RESOURCE_EXHAUSTED,
            "watcher fell " + MAX_WATCH_BACKLOG + " changes behind");
      }
    } finally {
      watchers.remove(watcher);
    }
  }
  // [kvstore-watch]

  // [kvstore-load]
  @Override
  public LoadResponse load(StreamReader<Entry> entries, CallContext context) {
    long loaded = 0;
    while (entries.hasNext()) { // false once the client completed its stream
      Entry e = entries.next();
      put(PutRequest.newBuilder().setKey(e.getKey()).setValue(e.getValue()).build(), context);
      loaded++;
    }
    return LoadResponse.newBuilder().setLoaded(loaded).build();
  }
  // [kvstore-load]

  private void changed(Change change) {
    for (Watcher w : watchers) {
      w.offer(change);
    }
  }

  /** One Watch call's backlog: changes not yet written to its stream. Written by any thread. */
  private static final class Watcher {
    static final Change END = Change.getDefaultInstance();
    final String prefix;
    final BlockingQueue<Change> backlog = new ArrayBlockingQueue<>(MAX_WATCH_BACKLOG + 1);
    volatile boolean fellBehind;

    Watcher(String prefix) {
      this.prefix = prefix;
    }

    synchronized void offer(Change change) {
      if (change.getKey().startsWith(prefix) && !fellBehind && backlog.size() < MAX_WATCH_BACKLOG) {
        backlog.add(change);
      } else if (change.getKey().startsWith(prefix) && !fellBehind) {
        fellBehind = true;
        end();
      }
    }

    synchronized void end() {
      backlog.clear();
      backlog.add(END);
    }
  }

  /** Page tokens are opaque to clients: the last key of the previous page, encoded. */
  private static String encodeToken(String lastKey) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(lastKey.getBytes(StandardCharsets.UTF_8));
  }

  private static String decodeToken(String token) {
    if (token.isEmpty()) {
      return null;
    }
    try {
      return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new FerryException(StatusCode.INVALID_ARGUMENT, "malformed page_token");
    }
  }
}
