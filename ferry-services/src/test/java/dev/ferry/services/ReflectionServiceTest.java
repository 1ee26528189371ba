package dev.ferry.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Timestamp;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.services.reflection.v1.FileByFilenameRequest;
import dev.ferry.services.reflection.v1.FileContainingSymbolRequest;
import dev.ferry.services.reflection.v1.FileDescriptorsResponse;
import dev.ferry.services.reflection.v1.ListServicesRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reflection service over the wire: the listing, and files with all their imports, in order. */
class ReflectionServiceTest {
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private FerryServer server;
  private FerryChannel channel;

  /**
   * shop/v1/shop.proto: a service whose messages use a nested message, an enum and a Timestamp from
   * google/protobuf/timestamp.proto, and which imports common/v1/money.proto.
   */
  static FileDescriptor shopFile() throws DescriptorValidationException {
    FileDescriptorProto money = FileDescriptorProto.newBuilder()
        .setName("common/v1/money.proto").setPackage("common.v1").setSyntax("proto3")
        .addMessageType(DescriptorProto.newBuilder().setName("Money")
            .addField(field("cents", 1, FieldDescriptorProto.Type.TYPE_INT64, null)))
        .build();
    FileDescriptor moneyFile = FileDescriptor.buildFrom(money, new FileDescriptor[0]);
    FileDescriptorProto shop = FileDescriptorProto.newBuilder()
        .setName("shop/v1/shop.proto").setPackage("shop.v1").setSyntax("proto3")
        .addDependency("google/protobuf/timestamp.proto").addDependency("common/v1/money.proto")
        .addEnumType(EnumDescriptorProto.newBuilder().setName("Size")
            .addValue(EnumValueDescriptorProto.newBuilder().setName("SIZE_UNSPECIFIED").setNumber(0)))
        .addMessageType(DescriptorProto.newBuilder().setName("Order")
            .addNestedType(DescriptorProto.newBuilder().setName("Line")
                .addField(field("sku", 1, FieldDescriptorProto.Type.TYPE_STRING, null)))
            .addField(field("lines", 1, FieldDescriptorProto.Type.TYPE_MESSAGE, ".shop.v1.Order.Line")
                .setLabel(FieldDescriptorProto.Label.LABEL_REPEATED))
            .addField(field("placed", 2, FieldDescriptorProto.Type.TYPE_MESSAGE, ".google.protobuf.Timestamp"))
            .addField(field("total", 3, FieldDescriptorProto.Type.TYPE_MESSAGE, ".common.v1.Money")))
        .addMessageType(DescriptorProto.newBuilder().setName("Receipt")
            .addField(field("id", 1, FieldDescriptorProto.Type.TYPE_STRING, null)))
        .addService(ServiceDescriptorProto.newBuilder().setName("Shop")
            .addMethod(MethodDescriptorProto.newBuilder().setName("Place")
                .setInputType(".shop.v1.Order").setOutputType(".shop.v1.Receipt")))
        .build();
    return FileDescriptor.buildFrom(shop, new FileDescriptor[] {Timestamp.getDescriptor().getFile(), moneyFile});
  }

  private static FieldDescriptorProto.Builder field(String name, int number, FieldDescriptorProto.Type type,
      String typeName) {
    FieldDescriptorProto.Builder f = FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
        .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL);
    return typeName == null ? f : f.setTypeName(typeName);
  }

  @BeforeEach
  void start() throws Exception {
    server = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(HealthService.create().service())
        .addService(ReflectionService.builder().addFile(shopFile()).addFile(HealthService.descriptor()).build())
        .build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).build();
  }

  @AfterEach
  void stop() {
    channel.close();
    server.close();
  }

  private FileDescriptorsResponse bySymbol(String symbol) {
    return channel.blockingCall(ReflectionService.FILE_CONTAINING_SYMBOL,
        FileContainingSymbolRequest.newBuilder().setSymbol(symbol).build(), TEN_SECONDS);
  }

  private static List<String> names(FileDescriptorsResponse response) throws Exception {
    List<String> names = new ArrayList<>();
    for (ByteString b : response.getFileDescriptorProtoList()) {
      names.add(FileDescriptorProto.parseFrom(b).getName());
    }
    return names;
  }

  /** What a tool does with an answer: builds every file, in the order given, from nothing but the answer. */
  private static FileDescriptor rebuild(FileDescriptorsResponse response) throws Exception {
    Map<String, FileDescriptor> built = new HashMap<>();
    FileDescriptor last = null;
    for (ByteString b : response.getFileDescriptorProtoList()) {
      FileDescriptorProto proto = FileDescriptorProto.parseFrom(b);
      FileDescriptor[] deps = proto.getDependencyList().stream().map(built::get).toArray(FileDescriptor[]::new);
      assertThat(deps).as("imports of %s come before it", proto.getName()).doesNotContainNull();
      last = FileDescriptor.buildFrom(proto, deps);
      built.put(proto.getName(), last);
    }
    return last;
  }

  @Test
  void listsTheDescribedServicesAndItself() {
    assertThat(channel.blockingCall(ReflectionService.LIST_SERVICES, ListServicesRequest.getDefaultInstance(),
        TEN_SECONDS).getServicesList())
        .containsExactly("ferry.health.v1.Health", "ferry.reflection.v1.ServerReflection", "shop.v1.Shop");
  }

  @Test
  void givesTheFileOfASymbolWithEverythingItImportsInOrder() throws Exception {
    for (String symbol : List.of("shop.v1.Shop", "shop.v1.Shop.Place", "shop.v1.Shop/Place", "shop.v1.Order",
        "shop.v1.Order.Line", "shop.v1.Size", ".shop.v1.Receipt")) {
      FileDescriptorsResponse response = bySymbol(symbol);
      assertThat(names(response)).as(symbol).containsExactly(
          "google/protobuf/timestamp.proto", "common/v1/money.proto", "shop/v1/shop.proto");
      FileDescriptor shop = rebuild(response);
      assertThat(shop.findServiceByName("Shop").findMethodByName("Place").getInputType().findFieldByName("placed")
          .getMessageType().getFullName()).isEqualTo("google.protobuf.Timestamp");
    }
    assertThat(names(bySymbol("common.v1.Money"))).containsExactly("common/v1/money.proto");
    assertThat(names(bySymbol("ferry.health.v1.Health"))).containsExactly("ferry/health/v1/health.proto");
  }

  @Test
  void givesAFileByItsName() throws Exception {
    FileDescriptorsResponse response = channel.blockingCall(ReflectionService.FILE_BY_FILENAME,
        FileByFilenameRequest.newBuilder().setFilename("ferry/reflection/v1/reflection.proto").build(), TEN_SECONDS);
    assertThat(rebuild(response).findServiceByName("ServerReflection").getMethods()).hasSize(3);
  }

  @Test
  void unknownSymbolsAndFilesAreNotFound() {
    assertThatThrownBy(() -> bySymbol("shop.v1.Nope"))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND))
        .hasMessageContaining("no such symbol: shop.v1.Nope");
    assertThatThrownBy(() -> channel.blockingCall(ReflectionService.FILE_BY_FILENAME,
        FileByFilenameRequest.newBuilder().setFilename("nope.proto").build(), TEN_SECONDS))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND));
  }
}
