import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProfessionalQuery(_message.Message):
    __slots__ = ("text", "specialty", "organisation_id", "language", "domain")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SPECIALTY_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    text: str
    specialty: str
    organisation_id: str
    language: str
    domain: str
    def __init__(self, text: _Optional[str] = ..., specialty: _Optional[str] = ..., organisation_id: _Optional[str] = ..., language: _Optional[str] = ..., domain: _Optional[str] = ...) -> None: ...

class FindFreeSlotsRequest(_message.Message):
    __slots__ = ("resource_id", "any_professional", "appointment_type", "window_start", "window_end", "zone")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    ANY_PROFESSIONAL_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    any_professional: ProfessionalQuery
    appointment_type: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    zone: str
    def __init__(self, resource_id: _Optional[str] = ..., any_professional: _Optional[_Union[ProfessionalQuery, _Mapping]] = ..., appointment_type: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., zone: _Optional[str] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("starts_at", "ends_at", "resource_id", "seats_left", "local_starts_at", "local_ends_at")
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEATS_LEFT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    resource_id: str
    seats_left: int
    local_starts_at: str
    local_ends_at: str
    def __init__(self, starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resource_id: _Optional[str] = ..., seats_left: _Optional[int] = ..., local_starts_at: _Optional[str] = ..., local_ends_at: _Optional[str] = ...) -> None: ...

class FindFreeSlotsResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...

class ExplainTimeRequest(_message.Message):
    __slots__ = ("resource_id", "appointment_type", "starts_at")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    appointment_type: str
    starts_at: _timestamp_pb2.Timestamp
    def __init__(self, resource_id: _Optional[str] = ..., appointment_type: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExplainTimeResponse(_message.Message):
    __slots__ = ("starts_at", "ends_at", "bookable", "reasons")
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKABLE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    bookable: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bookable: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateHoldRequest(_message.Message):
    __slots__ = ("resource_id", "appointment_type", "starts_at", "patient")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    appointment_type: str
    starts_at: _timestamp_pb2.Timestamp
    patient: str
    def __init__(self, resource_id: _Optional[str] = ..., appointment_type: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., patient: _Optional[str] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("id", "resource_id", "patient", "appointment_type", "starts_at", "ends_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    resource_id: str
    patient: str
    appointment_type: str
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., resource_id: _Optional[str] = ..., patient: _Optional[str] = ..., appointment_type: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ("hold_id", "patient")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    patient: str
    def __init__(self, hold_id: _Optional[str] = ..., patient: _Optional[str] = ...) -> None: ...

class ReleaseHoldResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TimeTaken(_message.Message):
    __slots__ = ("nearest_slots",)
    NEAREST_SLOTS_FIELD_NUMBER: _ClassVar[int]
    nearest_slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, nearest_slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...
