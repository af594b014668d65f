"""Flask extensions, created once and initialised in the app factory."""

from typing import TYPE_CHECKING

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from outreach.core.schemas import ErrorSchema

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:  # the type checker cannot see db.Model (made at run time): a stand-in

    class Model(Base):
        __abstract__ = True

else:
    Model = db.Model  # the models' base: Flask-SQLAlchemy's, on the declarative Base
migrate = Migrate()
jwt = JWTManager()


class OutreachApi(Api):
    """flask-smorest with the project's error envelope documented (`code` may be a string)."""

    ERROR_SCHEMA = ErrorSchema


# Every operation needs a bearer token unless it says otherwise (`@blp.doc(security=[])`):
# a new endpoint is documented as protected by default, and fuzzers check it answers 401.
api = OutreachApi(spec_kwargs={"security": [{"bearerAuth": []}]})
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
