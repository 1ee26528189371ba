package dev.ferry.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.services.ReflectionService;
import dev.ferry.services.reflection.v1.FileContainingSymbolRequest;
import dev.ferry.services.reflection.v1.FileDescriptorsResponse;
import dev.ferry.services.reflection.v1.ListServicesRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Service definitions asked of the server's reflection service (ferry.reflection.v1, docs/services.md). */
final class ReflectionSchema implements Schema {
  private final FerryChannel channel;
  private final CallOptions options;
  private final Target target;
  /** Files built so far, by name: an answer's imports are often built already. */
  private final Map<String, FileDescriptor> built = new HashMap<>();

  ReflectionSchema(FerryChannel channel, CallOptions options, Target target) {
    this.channel = channel;
    this.options = options;
    this.target = target;
  }

  @Override
  public String source() {
    return target + " (reflection)";
  }

  @Override
  public List<String> services() {
    try {
      return channel.blockingCall(ReflectionService.LIST_SERVICES, ListServicesRequest.getDefaultInstance(), options)
          .getServicesList();
    } catch (FerryException e) {
      throw noReflection(e);
    }
  }

  @Override
  public FileDescriptor fileContaining(String symbol) {
    FileDescriptorsResponse answer;
    try {
      answer = channel.blockingCall(ReflectionService.FILE_CONTAINING_SYMBOL,
          FileContainingSymbolRequest.newBuilder().setSymbol(symbol).build(), options);
    } catch (FerryException e) {
      if (e.code() == StatusCode.NOT_FOUND) {
        throw new CliException(target + " has no symbol " + symbol + " (see: ferry list " + target + ")");
      }
      throw noReflection(e);
    }
    FileDescriptor last = null;
    for (ByteString bytes : answer.getFileDescriptorProtoList()) {
      last = build(bytes);
    }
    if (last == null) {
      throw new CliException(target + "'s reflection answered no file for " + symbol);
    }
    return last;
  }

  private FileDescriptor build(ByteString bytes) {
    try {
      FileDescriptorProto proto = FileDescriptorProto.parseFrom(bytes);
      FileDescriptor done = built.get(proto.getName());
      if (done != null) {
        return done;
      }
      FileDescriptor[] dependencies = new FileDescriptor[proto.getDependencyCount()];
      for (int i = 0; i < dependencies.length; i++) {
        dependencies[i] = built.get(proto.getDependency(i));
        if (dependencies[i] == null) {
          throw new CliException(target + "'s reflection sent " + proto.getName() + " before its import "
              + proto.getDependency(i));
        }
      }
      FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies);
      built.put(file.getName(), file);
      return file;
    } catch (InvalidProtocolBufferException | DescriptorValidationException e) {
      throw new CliException(target + "'s reflection sent an invalid file descriptor: " + e.getMessage(), e);
    }
  }

  /** A reflection call failed: say why, and what to do if the server has no reflection. */
  private FerryException noReflection(FerryException e) {
    if (e.code() == StatusCode.UNIMPLEMENTED) {
      throw new CliException(target + " does not offer reflection (" + ReflectionService.NAME
          + "): pass its definitions with --proto or --descriptor-set");
    }
    return e;
  }
}
